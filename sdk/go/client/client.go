// Package client is the NameServer client SDK for Go: what producers and consumers embed to find
// brokers. A NameServerClient follows routes by push (one WatchRoutes stream to one replica), keeps a
// local route cache, and fails over to another replica with jittered back-off when its replica goes
// away. On every (re)connect it subscribes with the versions it holds, so a failover re-sends nothing
// that did not change: replicas derive versions from content, so the same routes have the same
// versions everywhere.
//
// A replica that is warming up (started recently, may not have heard from every broker) answers with
// routes flagged may_be_incomplete. The client prefers warm replicas: GetRoute asks the others and
// keeps a warming answer only when no warm replica answers; the watch stream moves on from a warming
// replica unless every other replica is warming or unreachable. Route changes say whether the route
// may be incomplete, and a flagged route is delivered again, unflagged, once its replica is warm.
//
// It is the Go twin of the TypeScript NameServerClient (src/client): same behaviour, same names where
// Go allows (GetRoute, Watch, Cached, Address, Stats, Close).
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/backoff"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/internal/queue"
	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

// DefaultCallTimeout is the deadline of a unary call when Options.CallTimeout is zero.
const DefaultCallTimeout = 3 * time.Second

// Options configure a NameServerClient. Only Nameservers is required.
type Options struct {
	// Nameservers are the NameServer addresses, "host:port" (several may share one comma-separated
	// string). A host name expands to every address it resolves to.
	Nameservers []string
	// DialOptions are added to every channel after the defaults (insecure credentials, keep-alive
	// 10 s / 5 s, reconnect back-off within Backoff), so they can override them, e.g.
	// grpc.WithTransportCredentials(credentials.NewTLS(cfg)).
	DialOptions []grpc.DialOption
	// Metadata, when set, is called for every call and stream; its result is sent as gRPC metadata
	// (e.g. "authorization": "Bearer ...").
	Metadata func() metadata.MD
	// CallTimeout is the deadline of each unary call (default 3 s).
	CallTimeout time.Duration
	// Backoff is the reconnect back-off of the watch stream (default 100 ms doubling to 5 s, half jitter).
	Backoff backoff.Options
	// LookupHost replaces DNS resolution of host names (custom discovery, tests).
	LookupHost LookupHost
	// OnConnected is called when the watch stream is connected to a replica (its first progress
	// message arrived: the answers to the subscription have been received).
	OnConnected func(address, serverID string)
	// OnDisconnected is called when the watch stream to a replica is lost (the client moves on).
	OnDisconnected func(address string, err error)
	// OnRouteTooLarge is called when a watched topic's route is larger than the replica sends in one
	// message; the cached route, if any, is kept.
	OnRouteTooLarge func(topic, reason string)
}

// RouteChange is a change of a watched topic: Route is the new route, or nil when the topic has no
// route any more.
type RouteChange struct {
	// Topic is the topic name.
	Topic string
	// Route is the new route; nil means removed. Treat it as read-only: it is the cached value.
	Route *pb.Route
	// MayBeIncomplete is true when a warming replica sent the route (no warm replica was reachable):
	// it may lack replica sets. The same route comes again with false once that replica is warm, or
	// after a later change.
	MayBeIncomplete bool
}

// Listener receives the route changes of watched topics. Listeners and the On* callbacks of Options
// run one at a time, in order, on one goroutine of the client: a slow listener delays the others,
// never the stream.
type Listener func(RouteChange)

// Stats are counters, for tests, benchmarks and metrics.
type Stats struct {
	// Connects counts watch streams opened.
	Connects uint64
	// Failovers counts times the watch stream was lost and the client moved on.
	Failovers uint64
	// RouteEvents counts route events received (updates and removals).
	RouteEvents uint64
	// RouteEventBytes is the encoded size of the route events received.
	RouteEventBytes uint64
	// WarmingSkipped counts watch streams left for another replica because this one was warming up.
	WarmingSkipped uint64
}

// retryOn are the status codes after which GetRoute asks the next replica.
var retryOn = map[codes.Code]bool{
	codes.Unavailable: true, codes.DeadlineExceeded: true, codes.ResourceExhausted: true,
	codes.Internal: true, codes.Unknown: true, codes.Canceled: true,
}

// NameServerClient finds routes and follows their changes; see the package comment. Create it with
// New; it is safe for concurrent use. Close it when done.
type NameServerClient struct {
	opts    Options
	ctx     context.Context
	cancel  context.CancelFunc
	backoff *backoff.Backoff

	mu            sync.Mutex
	addresses     []string
	next          int
	conns         map[string]*grpc.ClientConn
	cache         map[string]*pb.Route
	incomplete    map[string]bool // cached topics whose route came flagged may_be_incomplete, unconfirmed
	searching     int             // attempts since the watch stream last settled on a replica
	watchers      map[string]map[*Watch]struct{}
	stream        pb.RouteQuery_WatchRoutesClient
	streamAddress string
	running       bool
	closed        bool
	stats         Stats

	// sendMu orders sends on the watch stream (grpc-go streams allow one sender at a time) and
	// makes "build the request from the current state, send it" one step.
	sendMu sync.Mutex

	events       *queue.Queue[func()]
	inCallback   atomic.Bool
	loopDone     sync.WaitGroup
	dispatchDone chan struct{}
}

// New returns a client for the given NameServers. It does not connect yet: GetRoute and Watch do.
func New(opts Options) (*NameServerClient, error) {
	if len(splitEntries(opts.Nameservers)) == 0 {
		return nil, errors.New("client: Nameservers: at least one host:port is required")
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	opts.Backoff = opts.Backoff.WithDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	c := &NameServerClient{
		opts:         opts,
		ctx:          ctx,
		cancel:       cancel,
		backoff:      backoff.New(opts.Backoff),
		conns:        map[string]*grpc.ClientConn{},
		cache:        map[string]*pb.Route{},
		incomplete:   map[string]bool{},
		watchers:     map[string]map[*Watch]struct{}{},
		events:       queue.New[func()](),
		dispatchDone: make(chan struct{}),
	}
	go c.dispatch()
	return c, nil
}

// Address is the replica the watch stream is connected to ("" while (re)connecting).
func (c *NameServerClient) Address() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streamAddress
}

// Cached returns the cached route of a watched topic (nil when none). Treat it as read-only.
func (c *NameServerClient) Cached(topic string) *pb.Route {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cache[topic]
}

// Stats returns a snapshot of the counters.
func (c *NameServerClient) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// GetRoute returns the route of a topic: from the cache when the topic is watched and known (and not
// flagged as possibly incomplete), otherwise by GetRoute, trying the replicas in turn while they
// answer UNAVAILABLE (down, or warming up), another transient status, or a route flagged
// may_be_incomplete (warming up): the first warm replica's answer wins (a route, or NOT_FOUND), and a
// warming replica's route is returned only when no warm replica answers. NOT_FOUND, INVALID_ARGUMENT
// and the like are returned as gRPC status errors (status.Code(err) tells which).
func (c *NameServerClient) GetRoute(ctx context.Context, topic string) (*pb.Route, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("client: closed")
	}
	if _, watched := c.watchers[topic]; watched {
		if r := c.cache[topic]; r != nil && !c.incomplete[topic] {
			c.mu.Unlock()
			return r, nil
		}
	}
	c.mu.Unlock()
	addresses := c.knownAddresses(ctx)
	if len(addresses) == 0 {
		return nil, status.Error(codes.Unavailable, "no NameServer address resolved")
	}
	c.mu.Lock()
	start := c.next
	c.mu.Unlock()
	var last error
	var warming *pb.Route
	for i := range addresses {
		address := addresses[(start+i)%len(addresses)]
		res, err := c.getRouteFrom(ctx, address, topic)
		if err == nil {
			if !res.GetMayBeIncomplete() {
				return res.GetRoute(), nil
			}
			if warming == nil {
				warming = res.GetRoute() // keep looking for a warm replica
			}
			continue
		}
		last = err
		if ctx.Err() != nil {
			return nil, err
		}
		// Anything else (NOT_FOUND...) is a warm replica's answer, and a warm answer wins.
		if !retryOn[status.Code(err)] {
			return nil, err
		}
	}
	if warming != nil {
		return warming, nil
	}
	return nil, last
}

func (c *NameServerClient) getRouteFrom(ctx context.Context, address, topic string) (*pb.GetRouteResponse, error) {
	conn, err := c.conn(address)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(c.outgoing(ctx), c.opts.CallTimeout)
	defer cancel()
	res, err := pb.NewRouteQueryClient(conn).GetRoute(cctx, &pb.GetRouteRequest{Topic: topic})
	if err != nil {
		return nil, err
	}
	if res.GetRoute() == nil {
		return nil, status.Errorf(codes.Internal, "%s: empty GetRoute answer", address)
	}
	return res, nil
}

// Watch follows topics. The listener gets every later change, and the current route of topics
// already cached. Topics need not exist yet: their route arrives when they appear. Close the returned
// Watch to stop (topics nobody watches any more are unsubscribed).
func (c *NameServerClient) Watch(topics []string, listener Listener) *Watch {
	w := &Watch{c: c, fn: listener}
	seen := map[string]bool{}
	for _, t := range topics {
		if !seen[t] {
			seen[t] = true
			w.topics = append(w.topics, t)
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		w.closed.Store(true)
		return w
	}
	var added []string
	for _, t := range w.topics {
		set := c.watchers[t]
		if set == nil {
			set = map[*Watch]struct{}{}
			c.watchers[t] = set
			added = append(added, t)
		}
		set[w] = struct{}{}
		if r := c.cache[t]; r != nil {
			change := RouteChange{Topic: t, Route: r, MayBeIncomplete: c.incomplete[t]}
			c.post(func() { w.deliver(change) })
		}
	}
	start := !c.running && len(c.watchers) > 0
	if start {
		c.running = true
		c.loopDone.Add(1)
	}
	c.mu.Unlock()
	if start {
		go c.run()
	} else if len(added) > 0 {
		c.send(func() *pb.WatchRoutesRequest { return c.subscribeRequestLocked(added) })
	}
	return w
}

// Close stops the watch stream and closes every channel. It returns once the client's goroutines
// have ended (when called from a listener, the delivering goroutine ends right after that listener
// returns). Calls after the first do nothing.
func (c *NameServerClient) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.loopDone.Wait()
	c.events.Close()
	if !c.inCallback.Load() {
		<-c.dispatchDone
	}
	c.mu.Lock()
	conns := c.conns
	c.conns = map[string]*grpc.ClientConn{}
	c.mu.Unlock()
	for _, conn := range conns {
		_ = conn.Close()
	}
}

// Watch is one listener's subscription to some topics; see NameServerClient.Watch.
type Watch struct {
	c      *NameServerClient
	topics []string
	fn     Listener
	closed atomic.Bool
}

// Close stops this listener; topics no other listener watches are unsubscribed and dropped from the
// cache. Calls after the first do nothing.
func (w *Watch) Close() {
	if w.closed.Swap(true) {
		return
	}
	c := w.c
	var dropped []string
	c.mu.Lock()
	for _, t := range w.topics {
		set := c.watchers[t]
		if set == nil {
			continue
		}
		delete(set, w)
		if len(set) == 0 {
			delete(c.watchers, t)
			delete(c.cache, t)
			delete(c.incomplete, t)
			dropped = append(dropped, t)
		}
	}
	c.mu.Unlock()
	if len(dropped) > 0 {
		c.send(func() *pb.WatchRoutesRequest { return &pb.WatchRoutesRequest{Unsubscribe: dropped} })
	}
}

func (w *Watch) deliver(change RouteChange) {
	if !w.closed.Load() {
		w.fn(change)
	}
}

// post queues a callback for the dispatch goroutine; called with c.mu held, so callbacks run in the
// order the state changed.
func (c *NameServerClient) post(f func()) {
	c.events.Push(f)
}

func (c *NameServerClient) dispatch() {
	defer close(c.dispatchDone)
	for {
		f, ok := c.events.Pop()
		if !ok {
			return
		}
		c.inCallback.Store(true)
		f()
		c.inCallback.Store(false)
	}
}

// send writes a request built (under c.mu) from the current state on the current stream, if any. A
// failed send is left to the receive loop, which sees the stream end.
func (c *NameServerClient) send(build func() *pb.WatchRoutesRequest) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	s := c.stream
	var req *pb.WatchRoutesRequest
	if s != nil {
		req = build()
	}
	c.mu.Unlock()
	if s != nil {
		_ = s.Send(req)
	}
}

// subscribeRequestLocked subscribes topics with the versions held. c.mu must be held.
func (c *NameServerClient) subscribeRequestLocked(topics []string) *pb.WatchRoutesRequest {
	req := &pb.WatchRoutesRequest{Subscribe: make([]*pb.TopicSubscription, 0, len(topics))}
	for _, t := range topics {
		req.Subscribe = append(req.Subscribe, &pb.TopicSubscription{Topic: t, Version: c.cache[t].GetVersion()})
	}
	return req
}

func (c *NameServerClient) knownAddresses(ctx context.Context) []string {
	c.mu.Lock()
	known := c.addresses
	c.mu.Unlock()
	if len(known) > 0 {
		return known
	}
	fresh := ResolveAddresses(ctx, c.opts.Nameservers, c.opts.LookupHost, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.addresses) == 0 {
		c.addresses = fresh
	}
	return c.addresses
}

func (c *NameServerClient) conn(address string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("client: closed")
	}
	if conn := c.conns[address]; conn != nil {
		return conn, nil
	}
	conn, err := grpc.NewClient(address, DialOptions(c.opts.Backoff, c.opts.DialOptions)...)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", address, err)
	}
	c.conns[address] = conn
	return conn, nil
}

func (c *NameServerClient) outgoing(ctx context.Context) context.Context {
	if c.opts.Metadata == nil {
		return ctx
	}
	return metadata.NewOutgoingContext(ctx, c.opts.Metadata())
}

// run owns the watch stream: connect to a replica, follow it until it is lost, move to the next one
// after a back-off delay; until Close.
func (c *NameServerClient) run() {
	defer c.loopDone.Done()
	for c.ctx.Err() == nil {
		c.mu.Lock()
		roundStart := len(c.addresses) == 0 || c.next%len(c.addresses) == 0
		c.mu.Unlock()
		// Re-resolve once per round over the replicas (a DNS name may now list other pods).
		if roundStart {
			if fresh := ResolveAddresses(c.ctx, c.opts.Nameservers, c.opts.LookupHost, nil); len(fresh) > 0 {
				c.mu.Lock()
				c.addresses = fresh
				c.mu.Unlock()
			}
		}
		c.mu.Lock()
		if len(c.addresses) == 0 {
			c.mu.Unlock()
			if !c.sleep(c.backoff.Next()) {
				return
			}
			continue
		}
		address := c.addresses[c.next%len(c.addresses)]
		c.mu.Unlock()
		greeted, skipped, err := c.follow(address)
		if c.ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		c.stream = nil
		c.streamAddress = ""
		c.next++
		if skipped {
			// Warming up, and another replica may be warm: try the next one now.
			c.mu.Unlock()
			continue
		}
		if !greeted {
			c.searching++
		}
		c.stats.Failovers++
		if f := c.opts.OnDisconnected; f != nil {
			c.post(func() { f(address, err) })
		}
		c.mu.Unlock()
		if !c.sleep(c.backoff.Next()) {
			return
		}
	}
}

func (c *NameServerClient) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// errWarmingSkipped ends a stream the client leaves because its replica is warming up.
var errWarmingSkipped = errors.New("the replica is warming up; another one may be warm")

// follow opens a watch stream to address, subscribes every watched topic with the versions held,
// and applies what arrives until the stream ends; it returns whether the stream got as far as its
// first progress message, whether the client left it for a warm replica, and why it ended.
func (c *NameServerClient) follow(address string) (greeted, skipped bool, err error) {
	conn, err := c.conn(address)
	if err != nil {
		return false, false, err
	}
	ctx, cancel := context.WithCancel(c.outgoing(c.ctx))
	defer cancel()
	stream, err := pb.NewRouteQueryClient(conn).WatchRoutes(ctx)
	if err != nil {
		return false, false, err
	}
	c.sendMu.Lock()
	c.mu.Lock()
	c.stream = stream
	c.stats.Connects++
	topics := make([]string, 0, len(c.watchers))
	for t := range c.watchers {
		topics = append(topics, t)
	}
	req := c.subscribeRequestLocked(topics)
	c.mu.Unlock()
	_ = stream.Send(req) // a failure shows in Recv
	c.sendMu.Unlock()

	// Events that come before the first progress message wait for it: it says whether the replica is
	// warming up, and then the client may prefer another replica and drop them.
	var early []*pb.RouteEvent
	for {
		m, err := stream.Recv()
		if err != nil {
			c.mu.Lock()
			if c.stream == stream {
				c.stream = nil
			}
			c.mu.Unlock()
			if errors.Is(err, io.EOF) {
				return greeted, false, errors.New("watch stream ended by the server")
			}
			return greeted, false, err
		}
		if greeted {
			c.apply(m.GetEvents())
			if p := m.GetProgress(); p != nil {
				c.confirm(p.GetWarmingUp())
			}
			continue
		}
		early = append(early, m.GetEvents()...)
		p := m.GetProgress()
		if p == nil {
			continue
		}
		c.mu.Lock()
		if p.GetWarmingUp() && c.searching < len(c.addresses)-1 {
			c.searching++
			c.stats.WarmingSkipped++
			if c.stream == stream {
				c.stream = nil
			}
			c.mu.Unlock()
			return false, true, errWarmingSkipped
		}
		greeted = true
		c.searching = 0
		c.streamAddress = address
		serverID := p.GetServerId()
		if f := c.opts.OnConnected; f != nil {
			c.post(func() { f(address, serverID) })
		}
		c.mu.Unlock()
		c.backoff.Reset()
		c.apply(early)
		early = nil
		c.confirm(p.GetWarmingUp())
	}
}

// confirm: a progress message from a warm replica confirms the flagged routes it sent before it.
func (c *NameServerClient) confirm(warmingUp bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if warmingUp || len(c.incomplete) == 0 {
		return
	}
	for topic := range c.incomplete {
		delete(c.incomplete, topic)
		route := c.cache[topic]
		if route == nil {
			continue
		}
		change := RouteChange{Topic: topic, Route: route}
		for w := range c.watchers[topic] {
			c.post(func() { w.deliver(change) })
		}
	}
}

func (c *NameServerClient) apply(events []*pb.RouteEvent) {
	if len(events) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range events {
		c.stats.RouteEvents++
		c.stats.RouteEventBytes += uint64(proto.Size(ev))
		topic := ev.GetTopic()
		set := c.watchers[topic]
		if set == nil {
			continue // unsubscribed meanwhile
		}
		if ev.GetType() == pb.RouteEventType_ROUTE_EVENT_TYPE_TOO_LARGE {
			if f := c.opts.OnRouteTooLarge; f != nil {
				reason := ev.GetError()
				c.post(func() { f(topic, reason) })
			}
			continue
		}
		var route *pb.Route
		if ev.GetType() == pb.RouteEventType_ROUTE_EVENT_TYPE_UPDATED {
			route = ev.GetRoute()
		}
		if route != nil {
			c.cache[topic] = route
		} else {
			delete(c.cache, topic)
		}
		incomplete := route != nil && ev.GetMayBeIncomplete()
		if incomplete {
			c.incomplete[topic] = true
		} else {
			delete(c.incomplete, topic)
		}
		change := RouteChange{Topic: topic, Route: route, MayBeIncomplete: incomplete}
		for w := range set {
			c.post(func() { w.deliver(change) })
		}
	}
}

// DialOptions are the channel options the SDK uses (the broker agent too): insecure credentials,
// HTTP/2 keep-alive pings every 10 s answered within 5 s (to notice a replica that vanished without
// closing TCP), and grpc-go's reconnect back-off kept within b, followed by extra. Exported so a
// program can open its own channels to the NameServers with the same settings.
func DialOptions(b backoff.Options, extra []grpc.DialOption) []grpc.DialOption {
	b = b.WithDefaults()
	bc := grpcBackoffConfig(b)
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: 5 * time.Second}),
	}
	return append(opts, extra...)
}
