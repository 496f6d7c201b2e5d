package client_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/backoff"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/brokeragent"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/client"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/internal/testserver"
	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

var fast = backoff.Options{Initial: 50 * time.Millisecond, Max: time.Second}

// recorder keeps what a listener received and wakes waiters on every change.
type recorder struct {
	mu      sync.Mutex
	changes []client.RouteChange
	wake    chan struct{}
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{})} }

func (r *recorder) listen(c client.RouteChange) {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	close(r.wake)
	r.wake = make(chan struct{})
	r.mu.Unlock()
}

// until waits until cond (over everything received so far) holds.
func (r *recorder) until(t *testing.T, what string, cond func([]client.RouteChange) bool) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r.changes)
		wake := r.wake
		r.mu.Unlock()
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

func last(changes []client.RouteChange, topic string) (client.RouteChange, bool) {
	for i := len(changes) - 1; i >= 0; i-- {
		if changes[i].Topic == topic {
			return changes[i], true
		}
	}
	return client.RouteChange{}, false
}

func startAgent(t *testing.T, address, name string, topics ...*pb.TopicConfig) *brokeragent.BrokerAgent {
	t.Helper()
	registered := make(chan struct{}, 4)
	agent, err := brokeragent.New(brokeragent.Options{
		Nameservers: []string{address}, Cluster: "c1", BrokerName: name, Addresses: []string{"127.0.0.1:10999"},
		Topics: topics, Backoff: fast,
		OnRegistered: func(string, brokeragent.SessionInfo) { registered <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Stop(context.Background()) })
	select {
	case <-registered:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not register", name)
	}
	return agent
}

func TestGetRouteWatchCacheRemovalAndUnsubscribe(t *testing.T) {
	agent := startAgent(t, nameserver, "broker-w", brokeragent.Topic("w-orders"))
	ns, err := client.New(client.Options{Nameservers: []string{nameserver}, Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	ctx := context.Background()

	route, err := ns.GetRoute(ctx, "w-orders")
	if err != nil || route.GetBrokers()[0].GetBrokerName() != "broker-w" || route.GetBrokers()[0].GetWriteQueueNums() != brokeragent.DefaultQueueNums {
		t.Fatalf("GetRoute w-orders: %v, %v", route, err)
	}
	if _, err := ns.GetRoute(ctx, "w-missing"); status.Code(err) != codes.NotFound {
		t.Fatalf("GetRoute of an unknown topic: want NOT_FOUND, got %v", err)
	}

	rec := newRecorder()
	w := ns.Watch([]string{"w-orders", "w-later"}, rec.listen)
	rec.until(t, "the current route of w-orders", func(cs []client.RouteChange) bool {
		c, ok := last(cs, "w-orders")
		return ok && c.Route.GetVersion() == route.GetVersion()
	})
	if ns.Cached("w-orders").GetVersion() != route.GetVersion() {
		t.Fatal("the watched route is not cached")
	}
	// A watched, cached topic is answered from the cache: same pointer, no call.
	if got, _ := ns.GetRoute(ctx, "w-orders"); got != ns.Cached("w-orders") {
		t.Fatal("GetRoute of a watched topic did not come from the cache")
	}

	// A topic that did not exist when it was watched arrives when it appears.
	if err := agent.UpsertTopics(brokeragent.Topic("w-later")); err != nil {
		t.Fatal(err)
	}
	rec.until(t, "w-later appears", func(cs []client.RouteChange) bool { c, ok := last(cs, "w-later"); return ok && c.Route != nil })

	// A second listener on a cached topic gets its current route at once.
	rec2 := newRecorder()
	w2 := ns.Watch([]string{"w-later"}, rec2.listen)
	rec2.until(t, "the cached route for a new listener", func(cs []client.RouteChange) bool { return len(cs) == 1 && cs[0].Route != nil })
	w2.Close()

	agent.DeleteTopics("w-orders")
	rec.until(t, "the removal of w-orders", func(cs []client.RouteChange) bool { c, ok := last(cs, "w-orders"); return ok && c.Route == nil })
	if ns.Cached("w-orders") != nil {
		t.Fatal("a removed route stayed in the cache")
	}

	w.Close()
	if ns.Cached("w-later") != nil {
		t.Fatal("a topic nobody watches stayed in the cache")
	}
	st := ns.Stats()
	if st.Connects != 1 || st.Failovers != 0 || st.RouteEvents < 3 || st.RouteEventBytes == 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestGetRouteSkipsAReplicaThatIsDown(t *testing.T) {
	// Port 1 on loopback: nothing listens, the connection is refused (UNAVAILABLE).
	ns, err := client.New(client.Options{Nameservers: []string{"127.0.0.1:1", nameserver}})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	route, err := ns.GetRoute(context.Background(), "orders")
	if err != nil || route.GetTopic() != "orders" {
		t.Fatalf("GetRoute: %v, %v", route, err)
	}
}

func TestGetRouteAsksAnotherReplicaWhileOneWarmsUp(t *testing.T) {
	warming, err := testserver.Start("--warmup-ms", "600000")
	if err != nil {
		t.Fatal(err)
	}
	defer warming.Stop()
	direct, err := client.New(client.Options{Nameservers: []string{warming.Address}})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if _, err := direct.GetRoute(context.Background(), "orders"); status.Code(err) != codes.Unavailable {
		t.Fatalf("a warming replica that never saw the topic: want UNAVAILABLE, got %v", err)
	}
	ns, err := client.New(client.Options{Nameservers: []string{warming.Address, nameserver}})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	route, err := ns.GetRoute(context.Background(), "orders")
	if err != nil || route.GetBrokers()[0].GetBrokerName() != "broker-a" {
		t.Fatalf("GetRoute through the warming replica first: %v, %v", route, err)
	}
}

func TestResolveAddressesExpandsHostNames(t *testing.T) {
	lookup := func(_ context.Context, host string) ([]string, error) {
		switch host {
		case "ns.mq.svc":
			return []string{"127.0.0.2", "127.0.0.1", "::1"}, nil
		}
		return nil, errors.New("no such host")
	}
	var bad []string
	got := client.ResolveAddresses(context.Background(), []string{"ns.mq.svc:9876, 127.0.0.1:9876", "nope.invalid:1", "no-port", "[::1]:9876"}, lookup,
		func(entry string, _ error) { bad = append(bad, entry) })
	want := []string{"127.0.0.2:9876", "127.0.0.1:9876", "[::1]:9876"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if !slices.Equal(bad, []string{"nope.invalid:1", "no-port"}) {
		t.Fatalf("entries reported as bad: %v", bad)
	}
}

func TestAHostNameIsUsedWithAllItsAddresses(t *testing.T) {
	_, port, _ := splitPort(nameserver)
	// The name resolves to a loopback address where nothing listens, then to the NameServer's: the
	// client gets the route only by trying every address of the name.
	lookup := func(context.Context, string) ([]string, error) { return []string{"127.0.0.3", "127.0.0.1"}, nil }
	ns, err := client.New(client.Options{Nameservers: []string{"nameserver.test:" + port}, LookupHost: lookup})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if _, err := ns.GetRoute(context.Background(), "orders"); err != nil {
		t.Fatal(err)
	}
}

func splitPort(address string) (string, string, error) {
	for i := len(address) - 1; i >= 0; i-- {
		if address[i] == ':' {
			return address[:i], address[i+1:], nil
		}
	}
	return "", "", errors.New("no port")
}

func TestNewNeedsANameServer(t *testing.T) {
	if _, err := client.New(client.Options{Nameservers: []string{" , "}}); err == nil {
		t.Fatal("New accepted no NameServer address")
	}
}

func TestCloseIsIdempotentAndEndsWatches(t *testing.T) {
	ns, err := client.New(client.Options{Nameservers: []string{nameserver}})
	if err != nil {
		t.Fatal(err)
	}
	connected := make(chan string, 1)
	ns2, err := client.New(client.Options{Nameservers: []string{nameserver}, OnConnected: func(a, _ string) { connected <- a }})
	if err != nil {
		t.Fatal(err)
	}
	ns2.Watch([]string{"orders"}, func(client.RouteChange) {})
	if a := <-connected; a != nameserver {
		t.Fatalf("connected to %s", a)
	}
	ns.Close()
	ns.Close()
	ns2.Close()
	if _, err := ns.GetRoute(context.Background(), "orders"); err == nil {
		t.Fatal("GetRoute after Close succeeded")
	}
	// A watch on a closed client is inert (no goroutine starts: TestMain's leak check would see it).
	ns2.Watch([]string{"x"}, func(client.RouteChange) {}).Close()
}

func TestAWarmingReplicasRoutesAreFlaggedThenConfirmed(t *testing.T) {
	// Warm-up ends 3 s after start: long enough to register and watch, short enough to wait for.
	warming, err := testserver.Start("--warmup-ms", "3000")
	if err != nil {
		t.Fatal(err)
	}
	defer warming.Stop()
	startAgent(t, warming.Address, "broker-warm", brokeragent.Topic("wf"))

	// Only the warming replica: its answer is taken, flagged.
	alone, err := client.New(client.Options{Nameservers: []string{warming.Address}, Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Close()
	rec := newRecorder()
	w := alone.Watch([]string{"wf"}, rec.listen)
	defer w.Close()
	rec.until(t, "the flagged route", func(cs []client.RouteChange) bool { return len(cs) >= 1 })
	rec.mu.Lock()
	first := rec.changes[0]
	rec.mu.Unlock()
	if first.Route == nil || !first.MayBeIncomplete {
		t.Fatalf("a warming replica's route: %+v", first)
	}
	// When the replica is warm, the same route comes again, confirmed.
	rec.until(t, "the confirmation after warm-up", func(cs []client.RouteChange) bool {
		c, _ := last(cs, "wf")
		return !c.MayBeIncomplete && c.Route.GetVersion() == first.Route.GetVersion()
	})
}

func TestTheWatchLeavesAWarmingReplicaForAWarmOne(t *testing.T) {
	warming, err := testserver.Start("--warmup-ms", "600000")
	if err != nil {
		t.Fatal(err)
	}
	defer warming.Stop()
	connected := make(chan string, 4)
	ns, err := client.New(client.Options{Nameservers: []string{warming.Address, nameserver}, Backoff: fast,
		OnConnected: func(a, _ string) { connected <- a }})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	rec := newRecorder()
	w := ns.Watch([]string{"orders"}, rec.listen)
	defer w.Close()
	if a := <-connected; a != nameserver {
		t.Fatalf("settled on %s, the warming replica", a)
	}
	rec.until(t, "the route from the warm replica", func(cs []client.RouteChange) bool {
		c, ok := last(cs, "orders")
		return ok && c.Route != nil && !c.MayBeIncomplete
	})
	if st := ns.Stats(); st.WarmingSkipped != 1 || st.Failovers != 0 {
		t.Fatalf("stats: %+v", st)
	}
}
