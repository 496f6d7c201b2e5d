// Command broker is a minimal broker for the NameServer in Go, using the stubs generated from the
// .proto files into the Go SDK module (sdk/go/nameserverv1, `npm run generate`) and grpc-go from the
// Go module proxy. It is the Go twin of examples/python/broker.py: same flags, same JSON lines on
// stdout. Build it with `go build ./broker` in examples/go.
//
// Per NameServer replica it opens one BrokerRegistry/Connect stream, sends `register` (identity,
// addresses, data_version {epoch: new per boot, counter}, topics, groups) and waits for `accepted`;
// then sends `positions` and `heartbeat` now and then. Every `command` is applied, reported as a
// `delta` to every replica, and only THEN answered with `command_result`. An ack asking for
// reregister_required gets the full `register` again; a broken stream is reopened with back-off;
// SIGTERM/SIGINT sends UnregisterBroker.
//
// Usage:
//
//	broker --nameservers 127.0.0.1:9876 --cluster c1 --broker-name go-broker \
//	    --address 127.0.0.1:10921 --topic orders:8 --group billing
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

var printMu sync.Mutex

// emit prints one JSON object per line (the interop test follows these).
func emit(event string, fields map[string]interface{}) {
	if fields == nil {
		fields = map[string]interface{}{}
	}
	fields["event"] = event
	b, _ := json.Marshal(fields) // map keys are sorted
	printMu.Lock()
	os.Stdout.Write(append(b, '\n'))
	printMu.Unlock()
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type options struct {
	nameservers  []string
	cluster      string
	brokerName   string
	brokerID     uint32
	addresses    []string
	zone         string
	heartbeat    time.Duration
	positionsInt time.Duration
}

// state is the broker's own configuration (what a real broker persists) and its data version.
type state struct {
	mu         sync.Mutex
	opts       options
	epoch      string
	counter    uint64
	permission pb.Permission
	topics     map[string]*pb.TopicConfig
	groups     map[string]*pb.GroupConfig
	sessions   map[*session]bool // live streams: deltas go to every replica
	started    time.Time
}

func normalizeTopic(t *pb.TopicConfig) *pb.TopicConfig {
	c := proto.Clone(t).(*pb.TopicConfig)
	if c.Permission == pb.Permission_PERMISSION_UNSPECIFIED {
		c.Permission = pb.Permission_PERMISSION_READ_WRITE
	}
	if c.MessageType == pb.MessageType_MESSAGE_TYPE_UNSPECIFIED {
		c.MessageType = pb.MessageType_MESSAGE_TYPE_NORMAL
	}
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *state) dataVersion() *pb.DataVersion {
	return &pb.DataVersion{Epoch: s.epoch, Counter: s.counter}
}

// registerRequest is the full report (call with s.mu held).
func (s *state) registerRequest() *pb.RegisterBrokerRequest {
	r := &pb.RegisterBrokerRequest{
		Cluster:         s.opts.cluster,
		BrokerName:      s.opts.brokerName,
		BrokerId:        s.opts.brokerID,
		Addresses:       s.opts.addresses,
		Zone:            s.opts.zone,
		SoftwareVersion: "go-example-1.0",
		DataVersion:     s.dataVersion(),
		Permission:      s.permission,
	}
	for _, n := range sortedKeys(s.topics) {
		r.Topics = append(r.Topics, s.topics[n])
	}
	for _, n := range sortedKeys(s.groups) {
		r.Groups = append(r.Groups, s.groups[n])
	}
	return r
}

// positionsRequest simulates offsets: queues grow with time, groups lag 10 behind (s.mu held).
func (s *state) positionsRequest() *pb.ReportPositionsRequest {
	grown := int64(time.Since(s.started).Seconds() * 10)
	r := &pb.ReportPositionsRequest{Full: true} // identity may stay empty on a Connect stream
	for _, name := range sortedKeys(s.topics) {
		t := s.topics[name]
		for q := uint32(0); q < t.ReadQueueNums; q++ {
			max := int64(100*(q+1)) + grown
			r.QueuePositions = append(r.QueuePositions, &pb.QueuePosition{Topic: name, QueueId: q, MinOffset: 0, MaxOffset: max})
			for _, g := range sortedKeys(s.groups) {
				c := max - 10
				if c < 0 {
					c = 0
				}
				r.ConsumerPositions = append(r.ConsumerPositions, &pb.ConsumerPosition{Group: g, Topic: name, QueueId: q, CommittedOffset: c})
			}
		}
	}
	return r
}

// session is one Connect stream to one NameServer replica. Messages go through `out`, written by one
// goroutine (a gRPC stream's Send must not be called concurrently).
type session struct {
	st       *state
	target   string
	out      chan *pb.ConnectRequest
	mu       sync.Mutex
	seq      uint64
	accepted bool
}

func (se *session) send(req *pb.ConnectRequest) {
	se.mu.Lock()
	se.seq++
	req.Seq = se.seq
	se.mu.Unlock()
	select {
	case se.out <- req:
	default:
		emit("dropped", map[string]interface{}{"nameserver": se.target, "reason": "send queue full"})
	}
}

func (se *session) sendRegister() {
	se.st.mu.Lock()
	r := se.st.registerRequest()
	se.st.mu.Unlock()
	se.send(&pb.ConnectRequest{Body: &pb.ConnectRequest_Register{Register: r}})
}

func (se *session) sendPositions() {
	se.st.mu.Lock()
	r := se.st.positionsRequest()
	se.st.mu.Unlock()
	se.send(&pb.ConnectRequest{Body: &pb.ConnectRequest_Positions{Positions: r}})
	emit("positions", map[string]interface{}{"nameserver": se.target, "queue_positions": len(r.QueuePositions), "consumer_positions": len(r.ConsumerPositions)})
}

func (se *session) sendHeartbeat() {
	se.st.mu.Lock()
	v := se.st.dataVersion()
	se.st.mu.Unlock()
	se.send(&pb.ConnectRequest{Body: &pb.ConnectRequest_Heartbeat{Heartbeat: &pb.HeartbeatRequest{DataVersion: v}}})
}

// run keeps a session to one replica alive until ctx ends.
func run(ctx context.Context, st *state, target string) {
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		accepted := connectOnce(ctx, st, target)
		if accepted {
			backoff = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff *= 2; backoff > 5*time.Second {
			backoff = 5 * time.Second
		}
	}
}

func connectOnce(ctx context.Context, st *state, target string) bool {
	emit("connecting", map[string]interface{}{"nameserver": target})
	// NewClient connects lazily: a NameServer that is not there yet shows up as the stream's error.
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}))
	if err != nil {
		emit("disconnected", map[string]interface{}{"nameserver": target, "code": "DIAL", "details": err.Error()})
		return false
	}
	defer conn.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pb.NewBrokerRegistryClient(conn).Connect(sctx)
	if err != nil {
		emit("disconnected", map[string]interface{}{"nameserver": target, "code": status.Code(err).String(), "details": err.Error()})
		return false
	}
	se := &session{st: st, target: target, out: make(chan *pb.ConnectRequest, 4096)}
	// Register first; the session joins the delta broadcast only after its register is queued.
	st.mu.Lock()
	se.send(&pb.ConnectRequest{Body: &pb.ConnectRequest_Register{Register: st.registerRequest()}})
	st.sessions[se] = true
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		delete(st.sessions, se)
		st.mu.Unlock()
	}()

	// Writer.
	go func() {
		for {
			select {
			case <-sctx.Done():
				return
			case req := <-se.out:
				if err := stream.Send(req); err != nil {
					cancel()
					return
				}
			}
		}
	}()
	// Heartbeats and positions.
	go func() {
		hb := time.NewTicker(st.opts.heartbeat)
		pos := time.NewTicker(st.opts.positionsInt)
		defer hb.Stop()
		defer pos.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-hb.C:
				if se.isAccepted() {
					se.sendHeartbeat()
				}
			case <-pos.C:
				if se.isAccepted() {
					se.sendPositions()
				}
			}
		}
	}()

	for {
		msg, err := stream.Recv()
		if err != nil {
			if ctx.Err() == nil {
				emit("disconnected", map[string]interface{}{"nameserver": target, "code": status.Code(err).String(), "details": status.Convert(err).Message()})
			}
			return se.isAccepted()
		}
		se.onMessage(msg)
	}
}

func (se *session) isAccepted() bool {
	se.mu.Lock()
	defer se.mu.Unlock()
	return se.accepted
}

func (se *session) onMessage(msg *pb.ConnectResponse) {
	switch b := msg.Body.(type) {
	case *pb.ConnectResponse_Accepted:
		se.mu.Lock()
		se.accepted = true
		se.mu.Unlock()
		se.st.mu.Lock()
		emit("registered", map[string]interface{}{
			"nameserver": se.target, "session_id": b.Accepted.SessionId, "server_id": b.Accepted.ServerId,
			"grace_ms": b.Accepted.GraceMs, "broker_name": se.st.opts.brokerName, "epoch": se.st.epoch,
			"counter": se.st.counter, "topics": sortedKeys(se.st.topics),
		})
		se.st.mu.Unlock()
		se.sendPositions()
	case *pb.ConnectResponse_Ack:
		if b.Ack.ReregisterRequired {
			emit("reregister", map[string]interface{}{"nameserver": se.target, "seq": b.Ack.Seq, "reason": b.Ack.Error})
			se.sendRegister()
		} else if !b.Ack.Ok {
			emit("ack_error", map[string]interface{}{"nameserver": se.target, "seq": b.Ack.Seq, "error": b.Ack.Error})
		}
	case *pb.ConnectResponse_Command:
		se.onCommand(b.Command)
	}
}

func (se *session) onCommand(cmd *pb.Command) {
	st := se.st
	outcome, message := pb.CommandOutcome_COMMAND_OUTCOME_OK, ""
	var upsertTopics []*pb.TopicConfig
	var deleteTopics []string
	var upsertGroups []*pb.GroupConfig
	var deleteGroups []string
	fullRegister := false
	action := "unknown"

	st.mu.Lock()
	switch a := cmd.Action.(type) {
	case *pb.Command_CreateTopic:
		action = "create_topic"
		t := normalizeTopic(a.CreateTopic.GetTopic())
		if held, ok := st.topics[t.Name]; !ok {
			st.topics[t.Name] = t
			upsertTopics = append(upsertTopics, t)
		} else if !proto.Equal(held, t) {
			outcome, message = pb.CommandOutcome_COMMAND_OUTCOME_ALREADY_EXISTS, fmt.Sprintf("topic %s exists with another configuration", t.Name)
		}
	case *pb.Command_UpdateTopic:
		action = "update_topic"
		t := normalizeTopic(a.UpdateTopic.GetTopic())
		if held, ok := st.topics[t.Name]; !ok {
			outcome, message = pb.CommandOutcome_COMMAND_OUTCOME_NOT_FOUND, "no topic "+t.Name
		} else if !proto.Equal(held, t) {
			st.topics[t.Name] = t
			upsertTopics = append(upsertTopics, t)
		}
	case *pb.Command_DeleteTopic:
		action = "delete_topic"
		if _, ok := st.topics[a.DeleteTopic.Name]; !ok {
			outcome, message = pb.CommandOutcome_COMMAND_OUTCOME_NOT_FOUND, "no topic "+a.DeleteTopic.Name
		} else {
			delete(st.topics, a.DeleteTopic.Name)
			deleteTopics = append(deleteTopics, a.DeleteTopic.Name)
		}
	case *pb.Command_CreateGroup:
		action = "create_group"
		g := a.CreateGroup.GetGroup()
		if held, ok := st.groups[g.Name]; !ok {
			st.groups[g.Name] = g
			upsertGroups = append(upsertGroups, g)
		} else if !proto.Equal(held, g) {
			outcome, message = pb.CommandOutcome_COMMAND_OUTCOME_ALREADY_EXISTS, fmt.Sprintf("group %s exists with another configuration", g.Name)
		}
	case *pb.Command_UpdateGroup:
		action = "update_group"
		g := a.UpdateGroup.GetGroup()
		if held, ok := st.groups[g.Name]; !ok {
			outcome, message = pb.CommandOutcome_COMMAND_OUTCOME_NOT_FOUND, "no group "+g.Name
		} else if !proto.Equal(held, g) {
			st.groups[g.Name] = g
			upsertGroups = append(upsertGroups, g)
		}
	case *pb.Command_DeleteGroup:
		action = "delete_group"
		if _, ok := st.groups[a.DeleteGroup.Name]; !ok {
			outcome, message = pb.CommandOutcome_COMMAND_OUTCOME_NOT_FOUND, "no group "+a.DeleteGroup.Name
		} else {
			delete(st.groups, a.DeleteGroup.Name)
			deleteGroups = append(deleteGroups, a.DeleteGroup.Name)
		}
	case *pb.Command_SetPermission:
		action = "set_permission"
		if st.permission != a.SetPermission.Permission {
			st.permission = a.SetPermission.Permission
			fullRegister = true // the broker-wide permission travels in the full report
		}
	default:
		outcome, message = pb.CommandOutcome_COMMAND_OUTCOME_INVALID, "unsupported command"
	}
	emit("command", map[string]interface{}{"nameserver": se.target, "command_id": cmd.CommandId, "action": action})

	// Report the new state to every replica BEFORE answering: when the admin call returns, the
	// NameServer's routes already show the change.
	if len(upsertTopics)+len(deleteTopics)+len(upsertGroups)+len(deleteGroups) > 0 || fullRegister {
		base := st.counter
		st.counter++
		for s := range st.sessions {
			if fullRegister {
				s.send(&pb.ConnectRequest{Body: &pb.ConnectRequest_Register{Register: st.registerRequest()}})
				continue
			}
			s.send(&pb.ConnectRequest{Body: &pb.ConnectRequest_Delta{Delta: &pb.ReportDeltaRequest{
				BaseCounter: base, DataVersion: st.dataVersion(),
				UpsertTopics: upsertTopics, DeleteTopics: deleteTopics, UpsertGroups: upsertGroups, DeleteGroups: deleteGroups,
			}}})
		}
		names := []string{}
		for _, t := range upsertTopics {
			names = append(names, t.Name)
		}
		emit("delta", map[string]interface{}{"counter": st.counter, "upsert_topics": names, "delete_topics": deleteTopics, "full_register": fullRegister})
	}
	se.send(&pb.ConnectRequest{Body: &pb.ConnectRequest_CommandResult{CommandResult: &pb.CommandResult{CommandId: cmd.CommandId, Outcome: outcome, Message: message}}})
	st.mu.Unlock()
	emit("command_result", map[string]interface{}{"nameserver": se.target, "command_id": cmd.CommandId, "outcome": outcome.String(), "message": message})
}

func main() {
	var nameservers, cluster, brokerName, zone string
	var brokerID uint
	var addresses, topics, groups multiFlag
	var heartbeatMs, positionsMs int
	flag.StringVar(&nameservers, "nameservers", "", "NameServer addresses, comma-separated (one session each)")
	flag.StringVar(&cluster, "cluster", "c1", "cluster name")
	flag.StringVar(&brokerName, "broker-name", "", "replica set name (required)")
	flag.UintVar(&brokerID, "broker-id", 0, "replica id, 0 = leader")
	flag.Var(&addresses, "address", "host:port clients use (repeatable)")
	flag.StringVar(&zone, "zone", "", "availability zone")
	flag.Var(&topics, "topic", "NAME[:QUEUES] (repeatable; QUEUES default 4)")
	flag.Var(&groups, "group", "consumer group subscribed to every topic (repeatable)")
	flag.IntVar(&heartbeatMs, "heartbeat-ms", 10000, "heartbeat interval on the stream")
	flag.IntVar(&positionsMs, "positions-ms", 5000, "positions report interval")
	flag.Parse()
	if nameservers == "" || brokerName == "" {
		fmt.Fprintln(os.Stderr, "broker: --nameservers and --broker-name are required")
		os.Exit(2)
	}
	if len(addresses) == 0 {
		addresses = multiFlag{"127.0.0.1:10921"}
	}
	rnd := make([]byte, 8)
	_, _ = rand.Read(rnd)
	st := &state{
		opts: options{cluster: cluster, brokerName: brokerName, brokerID: uint32(brokerID), addresses: addresses, zone: zone,
			heartbeat: time.Duration(heartbeatMs) * time.Millisecond, positionsInt: time.Duration(positionsMs) * time.Millisecond},
		epoch:      "go-" + hex.EncodeToString(rnd),
		counter:    1,
		permission: pb.Permission_PERMISSION_READ_WRITE,
		topics:     map[string]*pb.TopicConfig{},
		groups:     map[string]*pb.GroupConfig{},
		sessions:   map[*session]bool{},
		started:    time.Now(),
	}
	for _, spec := range topics {
		name, q := spec, uint64(4)
		if i := strings.IndexByte(spec, ':'); i >= 0 {
			name = spec[:i]
			n, err := strconv.ParseUint(spec[i+1:], 10, 32)
			if err != nil {
				fmt.Fprintf(os.Stderr, "broker: bad --topic %q\n", spec)
				os.Exit(2)
			}
			q = n
		}
		st.topics[name] = normalizeTopic(&pb.TopicConfig{Name: name, ReadQueueNums: uint32(q), WriteQueueNums: uint32(q)})
	}
	for _, g := range groups {
		gc := &pb.GroupConfig{Name: g, ConsumeMode: pb.ConsumeMode_CONSUME_MODE_CLUSTERING,
			RetryPolicy: &pb.RetryPolicy{MaxAttempts: 16, InitialBackoffMs: 1000, MaxBackoffMs: 60000}}
		for _, t := range sortedKeys(st.topics) {
			gc.Subscriptions = append(gc.Subscriptions, &pb.Subscription{Topic: t, Expression: "*", FilterType: pb.FilterType_FILTER_TYPE_TAG})
		}
		st.groups[g] = gc
	}
	st.opts.nameservers = strings.Split(nameservers, ",")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var wg sync.WaitGroup
	for _, t := range st.opts.nameservers {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		wg.Add(1)
		go func(t string) { defer wg.Done(); run(ctx, st, t) }(t)
	}
	<-ctx.Done()

	// Graceful leave: this boot's registration goes at once.
	for _, t := range st.opts.nameservers {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := grpc.NewClient(strings.TrimSpace(t), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err == nil {
			res, err := pb.NewBrokerRegistryClient(conn).UnregisterBroker(cctx, &pb.UnregisterBrokerRequest{
				Cluster: cluster, BrokerName: brokerName, BrokerId: uint32(brokerID), Epoch: st.epoch})
			if err == nil {
				emit("unregistered", map[string]interface{}{"nameserver": t, "removed": res.Removed, "reason": res.Reason})
			} else {
				emit("unregister_failed", map[string]interface{}{"nameserver": t, "code": status.Code(err).String(), "details": err.Error()})
			}
			conn.Close()
		}
		cancel()
	}
	wg.Wait()
	emit("stopped", nil)
}
