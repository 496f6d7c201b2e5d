package brokeragent_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/backoff"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/brokeragent"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/internal/testserver"
	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

var fast = backoff.Options{Initial: 20 * time.Millisecond, Max: 300 * time.Millisecond}

// events records the agent's callbacks and wakes waiters on each.
type events struct {
	mu         sync.Mutex
	registered map[string][]string // address -> server ids, one per acceptance
	disconnect []string
	reported   []string
	warnings   []error
	wake       chan struct{}
}

func newEvents() *events {
	return &events{registered: map[string][]string{}, wake: make(chan struct{})}
}

func (e *events) changed() {
	close(e.wake)
	e.wake = make(chan struct{})
}

func (e *events) hook(o *brokeragent.Options) {
	o.OnRegistered = func(a string, info brokeragent.SessionInfo) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.registered[a] = append(e.registered[a], info.ServerID)
		e.changed()
	}
	o.OnDisconnected = func(a string, err error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.disconnect = append(e.disconnect, a+": "+err.Error())
		e.changed()
	}
	o.OnReported = func(a, kind string) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.reported = append(e.reported, kind)
		e.changed()
	}
	o.OnWarning = func(err error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.warnings = append(e.warnings, err)
		e.changed()
	}
}

func (e *events) until(t *testing.T, what string, cond func(*events) bool) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		e.mu.Lock()
		ok := cond(e)
		wake := e.wake
		e.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-wake:
		case <-timeout:
			t.Fatalf("not within 15 s: %s", what)
		}
	}
}

func newAgent(t *testing.T, ev *events, o brokeragent.Options) *brokeragent.BrokerAgent {
	t.Helper()
	if o.Cluster == "" {
		o.Cluster = "c1"
	}
	if o.BrokerName == "" {
		o.BrokerName = "b1"
	}
	if len(o.Addresses) == 0 {
		o.Addresses = []string{"127.0.0.1:10911"}
	}
	if o.Backoff == (backoff.Options{}) {
		o.Backoff = fast
	}
	ev.hook(&o)
	a, err := brokeragent.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return a
}

func start(t *testing.T, args ...string) *testserver.Server {
	t.Helper()
	s, err := testserver.Start(args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func waitRoute(t *testing.T, address, topic, what string, pred func(*pb.Route) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := testserver.WaitRoute(ctx, address, topic, pred); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func getRoute(t *testing.T, address, topic string) (*pb.Route, error) {
	t.Helper()
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := pb.NewRouteQueryClient(conn).GetRoute(ctx, &pb.GetRouteRequest{Topic: topic})
	return res.GetRoute(), err
}

func stats(t *testing.T, a *brokeragent.BrokerAgent, address string) brokeragent.SessionStats {
	t.Helper()
	for _, s := range a.SessionStats() {
		if s.Address == address {
			return s
		}
	}
	t.Fatalf("no session with %s", address)
	return brokeragent.SessionStats{}
}

func TestRegistersWithEveryReplicaAndReportsDeltas(t *testing.T) {
	s2 := start(t)
	ev := newEvents()
	a := newAgent(t, ev, brokeragent.Options{Nameservers: []string{nameserver + "," + s2.Address}, BrokerName: "b-delta", Topics: []*pb.TopicConfig{brokeragent.Topic("d-a")}})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev.until(t, "registered with both replicas", func(e *events) bool { return len(e.registered) == 2 })
	if err := a.UpsertTopics(&pb.TopicConfig{Name: "d-b", ReadQueueNums: 2, WriteQueueNums: 2}); err != nil {
		t.Fatal(err)
	}
	a.DeleteTopics("d-a")
	for _, addr := range []string{nameserver, s2.Address} {
		waitRoute(t, addr, "d-b", "d-b on "+addr, func(r *pb.Route) bool { return r != nil && r.GetBrokers()[0].GetWriteQueueNums() == 2 })
		waitRoute(t, addr, "d-a", "d-a gone from "+addr, func(r *pb.Route) bool { return r == nil })
		st := stats(t, a, addr)
		if st.Registrations != 1 || st.DeltasSent != 2 || st.HeldCounter != 3 || st.Phase != brokeragent.PhaseReady || st.Resyncs != 0 {
			t.Fatalf("%s: %+v", addr, st)
		}
	}
	if got := a.Nameservers(); len(got) != 2 || a.Counter() != 3 {
		t.Fatalf("nameservers %v, counter %d", got, a.Counter())
	}
}

// admin calls an Admin write on address and returns the per-broker results (from the answer, or from
// the failed status's nameserver-results-bin trailer).
func adminCreate(t *testing.T, address string, req *pb.CreateTopicRequest) ([]*pb.BrokerResult, error) {
	t.Helper()
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var trailer metadata.MD
	res, err := pb.NewAdminClient(conn).CreateTopic(ctx, req, grpc.Trailer(&trailer))
	if err != nil {
		bin := trailer.Get("nameserver-results-bin")
		if len(bin) == 0 {
			return nil, err
		}
		res = &pb.CreateTopicResponse{}
		if uerr := proto.Unmarshal([]byte(bin[0]), res); uerr != nil {
			t.Fatal(uerr)
		}
	}
	return res.GetResults(), err
}

func TestCommandsAreAppliedReportedAndAnswered(t *testing.T) {
	ev := newEvents()
	var calls atomic.Int32
	a := newAgent(t, ev, brokeragent.Options{
		Nameservers: []string{nameserver}, BrokerName: "b-cmd",
		Handler: brokeragent.CommandHandler{
			CreateTopic: func(_ context.Context, topic *pb.TopicConfig) (brokeragent.CommandReply, error) {
				calls.Add(1)
				if strings.HasPrefix(topic.GetName(), "broken") {
					return brokeragent.CommandReply{}, errors.New("disk full")
				}
				return brokeragent.CommandReply{Outcome: pb.CommandOutcome_COMMAND_OUTCOME_OK}, nil
			},
		},
	})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev.until(t, "registered", func(e *events) bool { return len(e.registered) == 1 })

	results, err := adminCreate(t, nameserver, &pb.CreateTopicRequest{Topic: &pb.TopicConfig{Name: "made", ReadQueueNums: 3, WriteQueueNums: 3}, BrokerNames: []string{"b-cmd"}})
	if err != nil || len(results) != 1 || results[0].GetOutcome() != pb.CommandOutcome_COMMAND_OUTCOME_OK {
		t.Fatalf("create: %v, %v", results, err)
	}
	// The delta went before the result: the route is there as soon as the admin call returned.
	if r, err := getRoute(t, nameserver, "made"); err != nil || r.GetBrokers()[0].GetWriteQueueNums() != 3 {
		t.Fatalf("route right after OK: %v, %v", r, err)
	}

	results, err = adminCreate(t, nameserver, &pb.CreateTopicRequest{Topic: brokeragent.Topic("broken-1"), BrokerNames: []string{"b-cmd"}})
	if err == nil || results[0].GetOutcome() != pb.CommandOutcome_COMMAND_OUTCOME_FAILED || results[0].GetMessage() != "disk full" {
		t.Fatalf("a handler error: %v, %v", results, err)
	}
	if _, err := getRoute(t, nameserver, "broken-1"); status.Code(err) != codes.NotFound {
		t.Fatalf("a failed create was reported: %v", err)
	}
	if calls.Load() != 2 {
		t.Fatalf("handler called %d times", calls.Load())
	}
	// No callback for groups: FAILED, "not supported", and the admin sees it.
	conn, _ := grpc.NewClient(nameserver, grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = pb.NewAdminClient(conn).CreateGroup(ctx, &pb.CreateGroupRequest{Group: &pb.GroupConfig{Name: "g"}, BrokerNames: []string{"b-cmd"}})
	if err == nil || !strings.Contains(err.Error(), "FAILED") {
		t.Fatalf("create group without a handler: %v", err)
	}
	if st := stats(t, a, nameserver); st.CommandResultsSent != 3 || st.DeltasSent != 1 {
		t.Fatalf("%+v", st)
	}
}

func TestReconnectsAndRegistersAgainAfterANameServerRestart(t *testing.T) {
	s1 := start(t)
	ev := newEvents()
	a := newAgent(t, ev, brokeragent.Options{Nameservers: []string{s1.Address}, BrokerName: "b-restart", Topics: []*pb.TopicConfig{brokeragent.Topic("r-a")}})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev.until(t, "registered", func(e *events) bool { return len(e.registered[s1.Address]) == 1 })
	s1.Kill(syscall.SIGKILL)
	ev.until(t, "disconnected", func(e *events) bool { return len(e.disconnect) >= 1 })
	s1b := start(t, "--listen", "127.0.0.1:"+strconv.Itoa(s1.Port))
	ev.until(t, "registered with the new process", func(e *events) bool { return len(e.registered[s1.Address]) >= 2 })
	ev.mu.Lock()
	ids := ev.registered[s1.Address]
	ev.mu.Unlock()
	if ids[0] == ids[len(ids)-1] {
		t.Fatal("registered with the same server id: not the new process")
	}
	waitRoute(t, s1b.Address, "r-a", "r-a on the new process", func(r *pb.Route) bool { return r != nil })
	if st := stats(t, a, s1.Address); st.Connects < 2 || st.Registrations < 2 {
		t.Fatalf("%+v", st)
	}
}

func TestReResolutionAddsAndDropsSessions(t *testing.T) {
	s2 := start(t)
	var list atomic.Value
	list.Store([]string{nameserver})
	ev := newEvents()
	a := newAgent(t, ev, brokeragent.Options{
		BrokerName: "b-dns", ResolveInterval: -1,
		Resolve: func(context.Context) ([]string, error) { return list.Load().([]string), nil },
	})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev.until(t, "registered with the first", func(e *events) bool { return len(e.registered[nameserver]) == 1 })
	list.Store([]string{nameserver, s2.Address})
	if err := a.RefreshAddresses(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev.until(t, "registered with the new replica", func(e *events) bool { return len(e.registered[s2.Address]) == 1 })
	list.Store([]string{s2.Address})
	if err := a.RefreshAddresses(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev.until(t, "the dropped replica's session ends", func(e *events) bool {
		return len(e.disconnect) == 1 && strings.Contains(e.disconnect[0], "no longer in the NameServer list")
	})
	if got := a.Nameservers(); len(got) != 1 || got[0] != s2.Address {
		t.Fatalf("sessions: %v", got)
	}
	// An empty answer (DNS down) keeps the sessions.
	list.Store([]string{})
	if err := a.RefreshAddresses(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := a.Nameservers(); len(got) != 1 {
		t.Fatalf("an empty resolution dropped sessions: %v", got)
	}
}

func TestHeartbeatsAndReportsFlowOnSchedule(t *testing.T) {
	ev := newEvents()
	a := newAgent(t, ev, brokeragent.Options{
		Nameservers: []string{nameserver}, BrokerName: "b-hb", Topics: []*pb.TopicConfig{brokeragent.Topic("hb")},
		HeartbeatInterval: 20 * time.Millisecond, ReportInterval: 20 * time.Millisecond,
		Positions: func(context.Context) (*brokeragent.PositionsReport, error) {
			return &brokeragent.PositionsReport{QueuePositions: []*pb.QueuePosition{{Topic: "hb", QueueId: 0, MaxOffset: 5}}}, nil
		},
	})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev.until(t, "three positions reports acknowledged", func(e *events) bool { return len(e.reported) >= 3 })
	for {
		st := stats(t, a, nameserver)
		if st.Resyncs != 0 {
			t.Fatalf("heartbeats of the held version asked for a resync: %+v", st)
		}
		if st.HeartbeatsSent >= 2 {
			break
		}
		ev.mu.Lock()
		n := len(ev.reported)
		ev.mu.Unlock()
		// Heartbeats and reports share the schedule: the next acknowledged report comes after more beats.
		ev.until(t, "more reports", func(e *events) bool { return len(e.reported) > n })
	}
}

func TestStopUnregistersSoRoutesDisappearAtOnce(t *testing.T) {
	// A grace of ten minutes: only the unregister can remove the route within the test.
	s := start(t, "--stream-grace-ms", "600000")
	ev := newEvents()
	a := newAgent(t, ev, brokeragent.Options{Nameservers: []string{s.Address}, BrokerName: "b-stop", Topics: []*pb.TopicConfig{brokeragent.Topic("s-a")}})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev.until(t, "registered", func(e *events) bool { return len(e.registered) == 1 })
	if _, err := getRoute(t, s.Address, "s-a"); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := getRoute(t, s.Address, "s-a"); status.Code(err) != codes.NotFound {
		t.Fatalf("after Stop: want NOT_FOUND at once, got %v", err)
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal("a second Stop failed:", err)
	}
}

func TestInvalidInputIsRefusedLocally(t *testing.T) {
	if _, err := brokeragent.New(brokeragent.Options{Cluster: "c", BrokerName: "b", Addresses: []string{"x:1"}}); err == nil {
		t.Fatal("New without NameServers")
	}
	if _, err := brokeragent.New(brokeragent.Options{Nameservers: []string{nameserver}, Cluster: "c", BrokerName: "b", Addresses: []string{"x:1"}, Topics: []*pb.TopicConfig{{Name: "bad name"}}}); err == nil {
		t.Fatal("New with an invalid topic")
	}
	ev := newEvents()
	a := newAgent(t, ev, brokeragent.Options{Nameservers: []string{nameserver}, BrokerName: "b-invalid"})
	if err := a.UpsertTopics(&pb.TopicConfig{Name: "ok"}, &pb.TopicConfig{Name: "no/slash"}); err == nil || a.Counter() != 1 {
		t.Fatalf("an invalid topic: err %v, counter %d", err, a.Counter())
	}
	if err := a.SetPermission(pb.Permission(42)); err == nil {
		t.Fatal("an unknown permission was accepted")
	}
}
