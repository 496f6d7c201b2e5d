// Command broker is a minimal broker in Go on the Go SDK's broker agent
// (github.com/mq-nameserver/mq-nameserver/sdk/go/brokeragent): it joins every NameServer replica,
// reports simulated queue offsets, applies the topics and groups an admin creates, and leaves on
// SIGTERM/SIGINT. It is the Go twin of examples/python/broker.py: same flags, one JSON object per line
// on stdout (the interop test follows them). Build it with `go build ./broker` in examples/go.
//
//	broker --nameservers 127.0.0.1:9876 --cluster c1 --broker-name go-broker \
//	    --address 127.0.0.1:10921 --topic orders:8 --group billing
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/brokeragent"
	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

var out sync.Mutex

// emit prints one JSON object per line.
func emit(event string, fields map[string]any) {
	fields["event"] = event
	b, _ := json.Marshal(fields)
	out.Lock()
	defer out.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

func main() {
	var addresses, topicFlags, groups list
	nameservers := flag.String("nameservers", "", "NameServer addresses, comma-separated (a host name: all its addresses)")
	cluster := flag.String("cluster", "c1", "cluster name")
	brokerName := flag.String("broker-name", "", "replica set name (required)")
	heartbeatMs := flag.Int("heartbeat-ms", 10000, "heartbeat interval on the stream")
	positionsMs := flag.Int("positions-ms", 5000, "positions report interval")
	flag.Var(&addresses, "address", "host:port clients use (repeatable)")
	flag.Var(&topicFlags, "topic", "NAME[:QUEUES] (repeatable; QUEUES default 4)")
	flag.Var(&groups, "group", "consumer group subscribed to every topic (repeatable)")
	flag.Parse()

	store := newStore(topicFlags, groups)
	started := time.Now()
	var agent *brokeragent.BrokerAgent
	agent, err := brokeragent.New(brokeragent.Options{
		Nameservers: []string{*nameservers}, Cluster: *cluster, BrokerName: *brokerName, Addresses: addresses,
		Topics: store.topicList(), Groups: store.groupList(), Handler: store.handler(),
		HeartbeatInterval: time.Duration(*heartbeatMs) * time.Millisecond,
		ReportInterval:    time.Duration(*positionsMs) * time.Millisecond,
		// Simulated offsets: queues grow with time, every group lags 10 behind.
		Positions: func(context.Context) (*brokeragent.PositionsReport, error) {
			return store.positions(int64(time.Since(started).Seconds() * 10)), nil
		},
		OnRegistered: func(ns string, info brokeragent.SessionInfo) {
			emit("registered", map[string]any{"nameserver": ns, "session_id": info.SessionID, "server_id": info.ServerID,
				"grace_ms": info.Grace.Milliseconds(), "broker_name": *brokerName, "epoch": agent.Epoch(), "counter": agent.Counter()})
		},
		OnCommand: func(c *pb.Command) {
			emit("command", map[string]any{"command_id": c.GetCommandId(), "action": action(c)})
		},
		OnDelta: func(ns string, d *pb.ReportDeltaRequest) {
			emit("delta", map[string]any{"nameserver": ns, "counter": d.GetDataVersion().GetCounter(), "delete_topics": d.GetDeleteTopics()})
		},
		OnCommandResult: func(ns string, r *pb.CommandResult) {
			emit("command_result", map[string]any{"nameserver": ns, "command_id": r.GetCommandId(), "outcome": r.GetOutcome().String(), "message": r.GetMessage()})
		},
		OnDisconnected: func(ns string, err error) {
			emit("disconnected", map[string]any{"nameserver": ns, "details": err.Error()})
		},
		OnWarning: func(err error) { emit("warning", map[string]any{"details": err.Error()}) },
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := agent.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := agent.Stop(ctx); err != nil { // UnregisterBroker on every NameServer
		emit("unregister_failed", map[string]any{"details": err.Error()})
	}
	emit("stopped", map[string]any{})
}

// action names a command's action with its proto field name.
func action(c *pb.Command) string {
	switch c.GetAction().(type) {
	case *pb.Command_CreateTopic:
		return "create_topic"
	case *pb.Command_UpdateTopic:
		return "update_topic"
	case *pb.Command_DeleteTopic:
		return "delete_topic"
	case *pb.Command_CreateGroup:
		return "create_group"
	case *pb.Command_UpdateGroup:
		return "update_group"
	case *pb.Command_DeleteGroup:
		return "delete_group"
	case *pb.Command_SetPermission:
		return "set_permission"
	}
	return "unknown"
}

// store is what a real broker persists: its topics and groups.
type store struct {
	mu     sync.Mutex
	topics map[string]*pb.TopicConfig
	groups map[string]*pb.GroupConfig
}

func newStore(topicFlags, groupNames []string) *store {
	s := &store{topics: map[string]*pb.TopicConfig{}, groups: map[string]*pb.GroupConfig{}}
	for _, f := range topicFlags {
		name, queues, _ := strings.Cut(f, ":")
		n, err := strconv.Atoi(queues)
		if err != nil || n <= 0 {
			n = 4
		}
		t := brokeragent.Topic(name)
		t.ReadQueueNums, t.WriteQueueNums = uint32(n), uint32(n)
		s.topics[name] = t
	}
	for _, g := range groupNames {
		cfg := &pb.GroupConfig{Name: g}
		for name := range s.topics {
			cfg.Subscriptions = append(cfg.Subscriptions, &pb.Subscription{Topic: name})
		}
		s.groups[g] = cfg
	}
	return s
}

func (s *store) topicList() (out []*pb.TopicConfig) {
	for _, t := range s.topics {
		out = append(out, t)
	}
	return out
}

func (s *store) groupList() (out []*pb.GroupConfig) {
	for _, g := range s.groups {
		out = append(out, g)
	}
	return out
}

func (s *store) positions(grown int64) *brokeragent.PositionsReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &brokeragent.PositionsReport{}
	for name, t := range s.topics {
		for q := uint32(0); q < t.GetReadQueueNums(); q++ {
			max := int64(100*(q+1)) + grown
			r.QueuePositions = append(r.QueuePositions, &pb.QueuePosition{Topic: name, QueueId: q, MaxOffset: max})
			for g := range s.groups {
				r.ConsumerPositions = append(r.ConsumerPositions, &pb.ConsumerPosition{Group: g, Topic: name, QueueId: q, CommittedOffset: max - 10})
			}
		}
	}
	return r
}

func reply(o pb.CommandOutcome, msg string) (brokeragent.CommandReply, error) {
	return brokeragent.CommandReply{Outcome: o, Message: msg}, nil
}

// handler applies commands to the store; creates are idempotent (same configuration: OK).
func (s *store) handler() brokeragent.CommandHandler {
	return brokeragent.CommandHandler{
		CreateTopic: func(_ context.Context, t *pb.TopicConfig) (brokeragent.CommandReply, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if held := s.topics[t.GetName()]; held != nil && !brokeragent.SameTopicConfig(held, t) {
				return reply(pb.CommandOutcome_COMMAND_OUTCOME_ALREADY_EXISTS, strings.Join(brokeragent.TopicDifferences(held, t), ", "))
			}
			s.topics[t.GetName()] = t
			return reply(pb.CommandOutcome_COMMAND_OUTCOME_OK, "")
		},
		DeleteTopic: func(_ context.Context, name string) (brokeragent.CommandReply, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.topics[name] == nil {
				return reply(pb.CommandOutcome_COMMAND_OUTCOME_NOT_FOUND, "")
			}
			delete(s.topics, name)
			return reply(pb.CommandOutcome_COMMAND_OUTCOME_OK, "")
		},
		CreateGroup: func(_ context.Context, g *pb.GroupConfig) (brokeragent.CommandReply, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if held := s.groups[g.GetName()]; held != nil && !brokeragent.SameGroupConfig(held, g) {
				return reply(pb.CommandOutcome_COMMAND_OUTCOME_ALREADY_EXISTS, strings.Join(brokeragent.GroupDifferences(held, g), ", "))
			}
			s.groups[g.GetName()] = g
			return reply(pb.CommandOutcome_COMMAND_OUTCOME_OK, "")
		},
	}
}
