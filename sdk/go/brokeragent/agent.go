// Package brokeragent is the broker agent SDK for Go: what a broker embeds to join the NameServers.
// A BrokerAgent keeps one Connect session per NameServer replica (every address the configured names
// resolve to, re-resolved periodically), registers the broker's topics, groups and permission there
// (in chunks when large), reports every later change as a delta, sends heartbeats, positions and
// instances on a schedule, and hands the NameServers' commands (admin writes) to the broker's
// CommandHandler, answering with its result.
//
// Data versions: the epoch is random per agent and the counter starts at 1 and grows with every
// change of topics, groups or permission, so a NameServer can tell "already held" from "new" and a
// restarted broker's registration from a late message of the previous process.
//
// Commands are applied one at a time, in arrival order across sessions. When the handler answers
// OK, the agent updates its own configuration and reports the change on every session first, and
// only then answers on the session the command came from: the NameServer sees the new state before
// the result, so an admin who gets "OK" can read the new route at once.
//
// It is the Go twin of the TypeScript BrokerAgent (src/broker-agent): same behaviour, same names
// where Go allows.
package brokeragent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/backoff"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/client"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/internal/queue"
	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

// Defaults of the intervals and deadlines in Options.
const (
	// DefaultReportInterval is the interval of positions and instances reports.
	DefaultReportInterval = 5 * time.Second
	// DefaultHeartbeatInterval is the interval of heartbeats on each session.
	DefaultHeartbeatInterval = 10 * time.Second
	// DefaultResolveInterval is the interval of DNS re-resolution of the NameServer names.
	DefaultResolveInterval = 30 * time.Second
	// DefaultStopTimeout is the deadline of each UnregisterBroker call made by Stop.
	DefaultStopTimeout = 3 * time.Second
)

// CommandReply is what a broker answers to one command.
type CommandReply struct {
	// Outcome is what happened (never leave it UNSPECIFIED: it counts as failed).
	Outcome pb.CommandOutcome
	// Message says why it failed, or what was already there (shown to the admin).
	Message string
}

// CommandHandler holds the callbacks a broker implements to apply the NameServers' commands (admin
// writes). Each applies and persists the change, then answers; when it answers OK the agent updates
// its own copy of the configuration and reports it to every NameServer before the result goes back.
// A nil callback answers FAILED ("not supported"); one that returns an error or panics answers FAILED
// with the error's text.
//
// Creates must be idempotent: creating a topic that exists with the same configuration is OK (see
// SameTopicConfig); with another configuration it is ALREADY_EXISTS. Updates and deletes of something
// missing are NOT_FOUND. The context ends when the agent stops.
type CommandHandler struct {
	// CreateTopic creates a topic.
	CreateTopic func(ctx context.Context, topic *pb.TopicConfig) (CommandReply, error)
	// UpdateTopic changes a topic's configuration.
	UpdateTopic func(ctx context.Context, topic *pb.TopicConfig) (CommandReply, error)
	// DeleteTopic deletes a topic.
	DeleteTopic func(ctx context.Context, name string) (CommandReply, error)
	// CreateGroup creates a consumer group.
	CreateGroup func(ctx context.Context, group *pb.GroupConfig) (CommandReply, error)
	// UpdateGroup changes a consumer group's configuration.
	UpdateGroup func(ctx context.Context, group *pb.GroupConfig) (CommandReply, error)
	// DeleteGroup deletes a consumer group.
	DeleteGroup func(ctx context.Context, name string) (CommandReply, error)
	// SetPermission changes the broker-wide permission.
	SetPermission func(ctx context.Context, permission pb.Permission) (CommandReply, error)
}

// PositionsReport holds offsets a broker reports (a full report: it replaces what the NameServer held).
type PositionsReport struct {
	// QueuePositions are the min/max offsets per topic queue.
	QueuePositions []*pb.QueuePosition
	// ConsumerPositions are the committed offsets per group, topic and queue.
	ConsumerPositions []*pb.ConsumerPosition
}

// SessionInfo is what a NameServer says when it accepts a session.
type SessionInfo struct {
	// SessionID is the session id assigned by the NameServer replica.
	SessionID string
	// ServerID identifies the NameServer replica (random per process start).
	ServerID string
	// Grace is how long after the stream ends the broker is removed.
	Grace time.Duration
}

// Options configure a BrokerAgent. Nameservers (or Resolve), Cluster, BrokerName and Addresses are
// required. Durations: zero means the default, negative means "never" where it says so.
type Options struct {
	// Nameservers are the NameServer addresses, "host:port" (several may share one comma-separated
	// string). A host name expands to every address it resolves to (a Kubernetes headless Service), and
	// is re-resolved every ResolveInterval.
	Nameservers []string
	// Cluster is the cluster name.
	Cluster string
	// BrokerName is the replica set name.
	BrokerName string
	// BrokerID is the replica id within the replica set; 0 (the default) is the leader.
	BrokerID uint32
	// Addresses are the addresses clients use to reach this broker ("host:port", at least one).
	Addresses []string
	// Zone is the availability zone (free-form).
	Zone string
	// SoftwareVersion is the broker software version (free-form).
	SoftwareVersion string
	// Topics are the topics the broker holds at start. Only Name is required: zero queue counts become
	// DefaultQueueNums (see also Topic).
	Topics []*pb.TopicConfig
	// Groups are the consumer groups the broker holds at start.
	Groups []*pb.GroupConfig
	// Permission is the broker-wide permission at start (default PERMISSION_READ_WRITE).
	Permission pb.Permission
	// Handler applies the NameServers' commands (see CommandHandler).
	Handler CommandHandler
	// Positions, when set, is called every ReportInterval and when a session is accepted.
	Positions func(ctx context.Context) (*PositionsReport, error)
	// Instances, when set, is called every ReportInterval and when a session is accepted.
	Instances func(ctx context.Context) ([]*pb.ClientInstance, error)
	// ReportInterval is the interval of positions and instances reports (default 5 s; negative: none).
	ReportInterval time.Duration
	// HeartbeatInterval is the interval of heartbeats on each session (default 10 s; negative: none).
	// The stream alone keeps the session alive; heartbeats find a NameServer that lost this broker's
	// state while the stream stayed.
	HeartbeatInterval time.Duration
	// ResolveInterval is the interval of DNS re-resolution of Nameservers (default 30 s; negative: never).
	ResolveInterval time.Duration
	// ChunkSize is the number of topics (and groups) per registration chunk (default 5,000).
	ChunkSize int
	// MaxQueueNums is the largest queue count accepted for a topic (default 1024, the NameServer's
	// default limit).
	MaxQueueNums uint32
	// Backoff is the reconnect back-off per session (default 100 ms doubling to 5 s, half jitter).
	Backoff backoff.Options
	// StopTimeout is the deadline of the UnregisterBroker calls Stop makes (default 3 s).
	StopTimeout time.Duration
	// DialOptions are added to every channel after the defaults (see client.DialOptions).
	DialOptions []grpc.DialOption
	// Metadata, when set, is called for every call and stream; its result is sent as gRPC metadata.
	Metadata func() metadata.MD
	// Token, when set, is sent as "authorization: Bearer <Token>".
	Token string
	// Resolve replaces DNS expansion of Nameservers (custom discovery, tests). Called at Start and every
	// ResolveInterval; an empty answer keeps the current sessions (a DNS hiccup must not drop them).
	Resolve func(ctx context.Context) ([]string, error)
	// LookupHost replaces the DNS look-up of host names in Nameservers.
	LookupHost client.LookupHost

	// OnRegistered is called when a session's registration was accepted (again after every reconnect).
	OnRegistered func(address string, info SessionInfo)
	// OnDisconnected is called when a session's stream ended or failed (it reconnects with back-off),
	// or its address was dropped from the NameServer list.
	OnDisconnected func(address string, err error)
	// OnCommand is called when a command arrived (before the handler runs).
	OnCommand func(cmd *pb.Command)
	// OnResync is called when a NameServer asked for a full re-register on a live session.
	OnResync func(address, reason string)
	// OnRejected is called when a registration was refused (bad content); the session restarts with
	// back-off.
	OnRejected func(address, reason string)
	// OnReported is called when a positions or instances report was acknowledged ("positions" or
	// "instances").
	OnReported func(address, kind string)
	// OnDelta is called when a delta was sent to a NameServer (after a change, or an applied command).
	OnDelta func(address string, delta *pb.ReportDeltaRequest)
	// OnCommandResult is called when a command's result was sent (always after the change it made was
	// reported: OnDelta, or a full registration for a permission change).
	OnCommandResult func(address string, result *pb.CommandResult)
	// OnWarning is called for what went wrong and the agent works around (a provider failed, a name
	// did not resolve, an unregister failed...).
	OnWarning func(err error)
}

// BrokerAgent joins a broker to the NameServers; see the package comment. Create it with New, then
// Start; Stop leaves gracefully. It is safe for concurrent use. The On* callbacks of Options run one
// at a time, in order, on a goroutine of the agent.
type BrokerAgent struct {
	opts   Options
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	state      *localState
	sessions   map[string]*session
	started    bool
	stopped    atomic.Bool
	retryTimer *time.Timer

	resolveMu  sync.Mutex
	reporting  atomic.Bool
	commands   *queue.Queue[pendingCommand]
	callbacks  *queue.Queue[func()]
	wg         sync.WaitGroup // timers, command worker, reports, retries
	cbDone     chan struct{}
	inCallback atomic.Bool
	stopOnce   sync.Once
	stopErr    error
}

type pendingCommand struct {
	from *session
	cmd  *pb.Command
}

// New validates the options and returns an agent; nothing connects before Start.
func New(opts Options) (*BrokerAgent, error) {
	if opts.Resolve == nil && len(nonEmpty(opts.Nameservers)) == 0 {
		return nil, errors.New("brokeragent: Nameservers: at least one host:port is required")
	}
	if opts.Cluster == "" || opts.BrokerName == "" {
		return nil, errors.New("brokeragent: Cluster and BrokerName are required")
	}
	if len(opts.Addresses) == 0 {
		return nil, errors.New("brokeragent: Addresses: the broker needs at least one host:port clients can reach")
	}
	if opts.MaxQueueNums == 0 {
		opts.MaxQueueNums = DefaultMaxQueueNums
	}
	if opts.ChunkSize == 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	if opts.ChunkSize < 0 {
		return nil, fmt.Errorf("brokeragent: ChunkSize must be positive, got %d", opts.ChunkSize)
	}
	opts.ReportInterval = orDefault(opts.ReportInterval, DefaultReportInterval)
	opts.HeartbeatInterval = orDefault(opts.HeartbeatInterval, DefaultHeartbeatInterval)
	opts.ResolveInterval = orDefault(opts.ResolveInterval, DefaultResolveInterval)
	opts.StopTimeout = orDefault(opts.StopTimeout, DefaultStopTimeout)
	opts.Backoff = opts.Backoff.WithDefaults()
	if _, ok := pb.Permission_name[int32(opts.Permission)]; !ok {
		return nil, fmt.Errorf("brokeragent: unknown permission %d", opts.Permission)
	}
	topics := make([]*pb.TopicConfig, 0, len(opts.Topics))
	for _, t := range opts.Topics {
		c, err := normalizeTopic(t, opts.MaxQueueNums)
		if err != nil {
			return nil, fmt.Errorf("brokeragent: %w", err)
		}
		topics = append(topics, c)
	}
	groups := make([]*pb.GroupConfig, 0, len(opts.Groups))
	for _, g := range opts.Groups {
		c, err := normalizeGroup(g)
		if err != nil {
			return nil, fmt.Errorf("brokeragent: %w", err)
		}
		groups = append(groups, c)
	}
	h := header{
		cluster: opts.Cluster, brokerName: opts.BrokerName, brokerID: opts.BrokerID,
		addresses: append([]string(nil), opts.Addresses...), zone: opts.Zone, softwareVersion: opts.SoftwareVersion,
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &BrokerAgent{
		opts:      opts,
		ctx:       ctx,
		cancel:    cancel,
		state:     newLocalState(h, topics, groups, opts.Permission, opts.ChunkSize),
		sessions:  map[string]*session{},
		commands:  queue.New[pendingCommand](),
		callbacks: queue.New[func()](),
		cbDone:    make(chan struct{}),
	}, nil
}

func orDefault(d, dflt time.Duration) time.Duration {
	if d == 0 {
		return dflt
	}
	return d
}

func nonEmpty(entries []string) []string {
	var out []string
	for _, e := range entries {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

// Epoch is the boot id of this agent (random per agent).
func (a *BrokerAgent) Epoch() string { return a.state.epoch }

// Counter is the current data version counter.
func (a *BrokerAgent) Counter() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state.counter
}

// Permission is the current broker-wide permission.
func (a *BrokerAgent) Permission() pb.Permission {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state.permission
}

// Topics returns the topics the agent reports (in name order; treat them as read-only).
func (a *BrokerAgent) Topics() []*pb.TopicConfig {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*pb.TopicConfig, 0, len(a.state.topics))
	for _, t := range a.state.topics {
		out = append(out, t)
	}
	sortByName(out, func(t *pb.TopicConfig) string { return t.Name })
	return out
}

// Groups returns the groups the agent reports (in name order; treat them as read-only).
func (a *BrokerAgent) Groups() []*pb.GroupConfig {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*pb.GroupConfig, 0, len(a.state.groups))
	for _, g := range a.state.groups {
		out = append(out, g)
	}
	sortByName(out, func(g *pb.GroupConfig) string { return g.Name })
	return out
}

// Nameservers returns the NameServer addresses with a session (resolved, not the configured names).
func (a *BrokerAgent) Nameservers() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.sessions))
	for addr := range a.sessions {
		out = append(out, addr)
	}
	sortByName(out, func(s string) string { return s })
	return out
}

// SessionStats returns the counters of every session, by address.
func (a *BrokerAgent) SessionStats() []SessionStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]SessionStats, 0, len(a.sessions))
	for _, s := range a.sessions {
		out = append(out, s.snapshot())
	}
	sortByName(out, func(s SessionStats) string { return s.Address })
	return out
}

// Start resolves the NameServers, opens a session with each, and starts the timers. It returns once
// sessions are opening; OnRegistered says when each NameServer has accepted the registration. The
// context bounds the first resolution only.
func (a *BrokerAgent) Start(ctx context.Context) error {
	a.mu.Lock()
	if a.started {
		a.mu.Unlock()
		return errors.New("brokeragent: Start called twice")
	}
	a.started = true
	a.mu.Unlock()
	go a.runCallbacks()
	a.wg.Add(2)
	go a.runCommands()
	go a.runTimers()
	return a.RefreshAddresses(ctx)
}

// RefreshAddresses re-resolves the NameServer names now: new addresses get a session, vanished ones
// are closed. An empty answer (DNS down) keeps the current sessions and, when there are none, retries
// after the back-off's largest delay. Concurrent calls run one after another.
func (a *BrokerAgent) RefreshAddresses(ctx context.Context) error {
	a.resolveMu.Lock()
	defer a.resolveMu.Unlock()
	if a.stopped.Load() {
		return nil
	}
	var fresh []string
	if a.opts.Resolve != nil {
		got, err := a.opts.Resolve(ctx)
		if err != nil {
			a.warn(err)
		}
		fresh = got
	} else {
		fresh = client.ResolveAddresses(ctx, a.opts.Nameservers, a.opts.LookupHost, func(entry string, err error) {
			a.warn(fmt.Errorf("cannot resolve NameServer %s: %w", entry, err))
		})
	}
	a.mu.Lock()
	if a.stopped.Load() {
		a.mu.Unlock()
		return nil
	}
	if len(fresh) == 0 {
		a.warnLocked(errors.New("no NameServer address resolved; keeping the current sessions"))
		// Without any session the broker is invisible: do not wait a whole resolve interval.
		if len(a.sessions) == 0 && a.retryTimer == nil {
			a.wg.Add(1)
			a.retryTimer = time.AfterFunc(a.opts.Backoff.Max, func() {
				defer a.wg.Done()
				a.mu.Lock()
				a.retryTimer = nil
				a.mu.Unlock()
				_ = a.RefreshAddresses(a.ctx)
			})
		}
		a.mu.Unlock()
		return nil
	}
	want := map[string]bool{}
	var errs []error
	for _, addr := range fresh {
		want[addr] = true
		if a.sessions[addr] != nil {
			continue
		}
		conn, err := grpc.NewClient(addr, client.DialOptions(a.opts.Backoff, a.opts.DialOptions)...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			continue
		}
		s := newSession(a, addr, conn)
		a.sessions[addr] = s
		go s.run()
	}
	var gone []*session
	for addr, s := range a.sessions {
		if !want[addr] {
			// The replica left the DNS answer (scaled down): end the stream; it forgets us after its grace.
			delete(a.sessions, addr)
			gone = append(gone, s)
		}
	}
	a.mu.Unlock()
	for _, s := range gone {
		s.close()
		addr := s.address
		a.notify(func(o *Options) {
			if o.OnDisconnected != nil {
				o.OnDisconnected(addr, errors.New("the address is no longer in the NameServer list"))
			}
		})
	}
	return errors.Join(errs...)
}

// UpsertTopics adds or changes topics and reports them to every NameServer; unchanged ones are
// skipped. Only Name is required (zero queue counts become DefaultQueueNums); a topic the NameServer
// would refuse is an error and nothing changes.
func (a *BrokerAgent) UpsertTopics(topics ...*pb.TopicConfig) error {
	cfgs := make([]*pb.TopicConfig, 0, len(topics))
	for _, t := range topics {
		c, err := normalizeTopic(t, a.opts.MaxQueueNums)
		if err != nil {
			return fmt.Errorf("brokeragent: %w", err)
		}
		cfgs = append(cfgs, c)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.broadcastLocked(a.state.upsertTopics(cfgs))
	return nil
}

// DeleteTopics removes topics and reports it to every NameServer.
func (a *BrokerAgent) DeleteTopics(names ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.broadcastLocked(a.state.deleteTopics(names))
}

// UpsertGroups adds or changes groups and reports them to every NameServer.
func (a *BrokerAgent) UpsertGroups(groups ...*pb.GroupConfig) error {
	cfgs := make([]*pb.GroupConfig, 0, len(groups))
	for _, g := range groups {
		c, err := normalizeGroup(g)
		if err != nil {
			return fmt.Errorf("brokeragent: %w", err)
		}
		cfgs = append(cfgs, c)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.broadcastLocked(a.state.upsertGroups(cfgs))
	return nil
}

// DeleteGroups removes groups and reports it to every NameServer.
func (a *BrokerAgent) DeleteGroups(names ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.broadcastLocked(a.state.deleteGroups(names))
}

// SetPermission changes the broker-wide permission (PERMISSION_READ drains the broker: producers go
// elsewhere). It is part of the registration only, so every NameServer gets a full re-register.
func (a *BrokerAgent) SetPermission(p pb.Permission) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.setPermissionLocked(p)
}

func (a *BrokerAgent) setPermissionLocked(p pb.Permission) error {
	if _, ok := pb.Permission_name[int32(p)]; !ok {
		return fmt.Errorf("brokeragent: unknown permission %d", p)
	}
	if !a.state.setPermission(p) {
		return nil
	}
	for _, s := range a.sessions {
		if s.ready() {
			s.sendRegistrationLocked()
		}
	}
	return nil
}

// ReportNow sends positions and instances to every accepted session now (besides the schedule).
func (a *BrokerAgent) ReportNow(ctx context.Context) error {
	a.mu.Lock()
	targets := make([]*session, 0, len(a.sessions))
	for _, s := range a.sessions {
		targets = append(targets, s)
	}
	a.mu.Unlock()
	return a.report(ctx, targets)
}

// Stop leaves gracefully: UnregisterBroker (with this agent's epoch) on every NameServer, so routes
// disappear at once instead of after the stream grace; then it ends the streams and every goroutine
// of the agent. Each unregister is bounded by StopTimeout and ctx. It returns the unregister failures
// (joined); calls after the first return the same.
func (a *BrokerAgent) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() { a.stopErr = a.leave(ctx) })
	return a.stopErr
}

func (a *BrokerAgent) leave(ctx context.Context) error {
	a.stopped.Store(true)
	a.mu.Lock()
	started := a.started
	if a.retryTimer != nil && a.retryTimer.Stop() {
		a.wg.Done() // the retry will not run
	}
	a.retryTimer = nil
	sessions := make([]*session, 0, len(a.sessions))
	for _, s := range a.sessions {
		s.haltLocked()
		sessions = append(sessions, s)
	}
	clear(a.sessions)
	h := a.state.header
	req := &pb.UnregisterBrokerRequest{Cluster: h.cluster, BrokerName: h.brokerName, BrokerId: h.brokerID, Epoch: a.state.epoch}
	a.mu.Unlock()

	errs := make([]error, len(sessions))
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uctx, cancel := context.WithTimeout(ctx, a.opts.StopTimeout)
			defer cancel()
			if err := s.unregister(uctx, req); err != nil {
				errs[i] = fmt.Errorf("%s: unregister failed: %w", s.address, err)
				a.warn(errs[i])
			}
			s.close()
		}()
	}
	wg.Wait()
	a.cancel()
	a.commands.Close()
	a.wg.Wait()
	// Deliver what is queued (the last disconnects and warnings), then end the callback goroutine;
	// from inside a callback, it ends right after that callback returns.
	if started && !a.inCallback.Load() {
		drained := make(chan struct{})
		a.callbacks.Push(func() { close(drained) })
		<-drained
	}
	a.callbacks.Close()
	if started && !a.inCallback.Load() {
		<-a.cbDone
	}
	return errors.Join(errs...)
}

func (a *BrokerAgent) isStopped() bool { return a.stopped.Load() }

func (a *BrokerAgent) broadcastLocked(c *change) {
	if c == nil {
		return
	}
	for _, s := range a.sessions {
		s.sendDeltaLocked(c)
	}
}

func (a *BrokerAgent) runTimers() {
	defer a.wg.Done()
	tick := func(d time.Duration) (<-chan time.Time, func()) {
		if d < 0 {
			return nil, func() {}
		}
		t := time.NewTicker(d)
		return t.C, t.Stop
	}
	report, stopReport := tick(a.opts.ReportInterval)
	defer stopReport()
	heartbeat, stopHeartbeat := tick(a.opts.HeartbeatInterval)
	defer stopHeartbeat()
	resolve, stopResolve := tick(a.opts.ResolveInterval)
	defer stopResolve()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-report:
			// A slow provider: skip a beat rather than pile up reports.
			if a.reporting.CompareAndSwap(false, true) {
				a.wg.Add(1)
				go func() {
					defer a.wg.Done()
					defer a.reporting.Store(false)
					_ = a.ReportNow(a.ctx)
				}()
			}
		case <-heartbeat:
			a.mu.Lock()
			for _, s := range a.sessions {
				s.sendHeartbeatLocked()
			}
			a.mu.Unlock()
		case <-resolve:
			_ = a.RefreshAddresses(a.ctx)
		}
	}
}

func (a *BrokerAgent) report(ctx context.Context, targets []*session) error {
	if a.opts.Positions == nil && a.opts.Instances == nil {
		return nil
	}
	a.mu.Lock()
	anyReady := false
	for _, s := range targets {
		anyReady = anyReady || s.ready()
	}
	a.mu.Unlock()
	if !anyReady {
		return nil
	}
	var p *PositionsReport
	var in []*pb.ClientInstance
	var err error
	if a.opts.Positions != nil {
		p, err = a.opts.Positions(ctx)
	}
	if err == nil && a.opts.Instances != nil {
		in, err = a.opts.Instances(ctx)
	}
	if err != nil {
		err = fmt.Errorf("positions/instances provider failed: %w", err)
		a.warn(err)
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range targets {
		if p != nil {
			s.sendPositionsLocked(p)
		}
		if a.opts.Instances != nil {
			s.sendInstancesLocked(in)
		}
	}
	return nil
}

// acceptedLocked: a session's registration was accepted.
func (a *BrokerAgent) acceptedLocked(s *session, info *pb.SessionAccepted) {
	address := s.address
	si := SessionInfo{SessionID: info.GetSessionId(), ServerID: info.GetServerId(), Grace: time.Duration(info.GetGraceMs()) * time.Millisecond}
	a.notify(func(o *Options) {
		if o.OnRegistered != nil {
			o.OnRegistered(address, si)
		}
	})
	// A replica that just (re)joined should not wait a whole interval for positions and instances.
	if (a.opts.Positions != nil || a.opts.Instances != nil) && !a.stopped.Load() {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			_ = a.report(a.ctx, []*session{s})
		}()
	}
}

// commandLocked queues a command for the command worker (one at a time, in arrival order).
func (a *BrokerAgent) commandLocked(s *session, cmd *pb.Command) {
	a.notify(func(o *Options) {
		if o.OnCommand != nil {
			o.OnCommand(cmd)
		}
	})
	a.commands.Push(pendingCommand{from: s, cmd: cmd})
}

func (a *BrokerAgent) runCommands() {
	defer a.wg.Done()
	for {
		p, ok := a.commands.Pop()
		if !ok {
			return
		}
		a.runCommand(p.from, p.cmd)
	}
}

func (a *BrokerAgent) runCommand(from *session, cmd *pb.Command) {
	if a.stopped.Load() {
		return
	}
	reply := a.callHandler(cmd)
	a.mu.Lock()
	defer a.mu.Unlock()
	if reply.Outcome == pb.CommandOutcome_COMMAND_OUTCOME_OK && !a.stopped.Load() {
		if err := a.adoptLocked(cmd); err != nil {
			// The broker accepted something the agent cannot report (e.g. an unknown permission value).
			reply = CommandReply{Outcome: pb.CommandOutcome_COMMAND_OUTCOME_FAILED, Message: "applied by the broker but not reportable: " + err.Error()}
		}
	}
	from.sendCommandResultLocked(&pb.CommandResult{CommandId: cmd.GetCommandId(), Outcome: reply.Outcome, Message: reply.Message})
}

// callHandler runs the broker's callback for a command; it never panics.
func (a *BrokerAgent) callHandler(cmd *pb.Command) (reply CommandReply) {
	defer func() {
		if r := recover(); r != nil {
			reply = CommandReply{Outcome: pb.CommandOutcome_COMMAND_OUTCOME_FAILED, Message: fmt.Sprint(r)}
		}
	}()
	h := a.opts.Handler
	ctx := a.ctx
	missing := func(field string) CommandReply {
		return CommandReply{Outcome: pb.CommandOutcome_COMMAND_OUTCOME_INVALID, Message: field + " is missing"}
	}
	var r CommandReply
	var err error
	var name string
	switch act := cmd.GetAction().(type) {
	case *pb.Command_CreateTopic:
		name = "create_topic"
		if act.CreateTopic.GetTopic() == nil {
			return missing("create_topic.topic")
		}
		if h.CreateTopic == nil {
			break
		}
		r, err = h.CreateTopic(ctx, act.CreateTopic.GetTopic())
	case *pb.Command_UpdateTopic:
		name = "update_topic"
		if act.UpdateTopic.GetTopic() == nil {
			return missing("update_topic.topic")
		}
		if h.UpdateTopic == nil {
			break
		}
		r, err = h.UpdateTopic(ctx, act.UpdateTopic.GetTopic())
	case *pb.Command_DeleteTopic:
		name = "delete_topic"
		if h.DeleteTopic == nil {
			break
		}
		r, err = h.DeleteTopic(ctx, act.DeleteTopic.GetName())
	case *pb.Command_CreateGroup:
		name = "create_group"
		if act.CreateGroup.GetGroup() == nil {
			return missing("create_group.group")
		}
		if h.CreateGroup == nil {
			break
		}
		r, err = h.CreateGroup(ctx, act.CreateGroup.GetGroup())
	case *pb.Command_UpdateGroup:
		name = "update_group"
		if act.UpdateGroup.GetGroup() == nil {
			return missing("update_group.group")
		}
		if h.UpdateGroup == nil {
			break
		}
		r, err = h.UpdateGroup(ctx, act.UpdateGroup.GetGroup())
	case *pb.Command_DeleteGroup:
		name = "delete_group"
		if h.DeleteGroup == nil {
			break
		}
		r, err = h.DeleteGroup(ctx, act.DeleteGroup.GetName())
	case *pb.Command_SetPermission:
		name = "set_permission"
		if h.SetPermission == nil {
			break
		}
		r, err = h.SetPermission(ctx, act.SetPermission.GetPermission())
	default:
		return CommandReply{Outcome: pb.CommandOutcome_COMMAND_OUTCOME_INVALID, Message: "the command has no action this agent knows"}
	}
	if r == (CommandReply{}) && err == nil {
		if handlerMissing(h, cmd) {
			return CommandReply{Outcome: pb.CommandOutcome_COMMAND_OUTCOME_FAILED, Message: name + " is not supported by this broker"}
		}
		return CommandReply{Outcome: pb.CommandOutcome_COMMAND_OUTCOME_FAILED, Message: "the broker handler returned no outcome"}
	}
	if err != nil {
		return CommandReply{Outcome: pb.CommandOutcome_COMMAND_OUTCOME_FAILED, Message: err.Error()}
	}
	if r.Outcome == pb.CommandOutcome_COMMAND_OUTCOME_UNSPECIFIED {
		return CommandReply{Outcome: pb.CommandOutcome_COMMAND_OUTCOME_FAILED, Message: "the broker handler returned no outcome"}
	}
	return r
}

func handlerMissing(h CommandHandler, cmd *pb.Command) bool {
	switch cmd.GetAction().(type) {
	case *pb.Command_CreateTopic:
		return h.CreateTopic == nil
	case *pb.Command_UpdateTopic:
		return h.UpdateTopic == nil
	case *pb.Command_DeleteTopic:
		return h.DeleteTopic == nil
	case *pb.Command_CreateGroup:
		return h.CreateGroup == nil
	case *pb.Command_UpdateGroup:
		return h.UpdateGroup == nil
	case *pb.Command_DeleteGroup:
		return h.DeleteGroup == nil
	case *pb.Command_SetPermission:
		return h.SetPermission == nil
	}
	return false
}

// adoptLocked takes an applied command into the reported state and reports it everywhere.
func (a *BrokerAgent) adoptLocked(cmd *pb.Command) error {
	switch act := cmd.GetAction().(type) {
	case *pb.Command_CreateTopic:
		return a.upsertTopicLocked(act.CreateTopic.GetTopic())
	case *pb.Command_UpdateTopic:
		return a.upsertTopicLocked(act.UpdateTopic.GetTopic())
	case *pb.Command_DeleteTopic:
		a.broadcastLocked(a.state.deleteTopics([]string{act.DeleteTopic.GetName()}))
	case *pb.Command_CreateGroup:
		return a.upsertGroupLocked(act.CreateGroup.GetGroup())
	case *pb.Command_UpdateGroup:
		return a.upsertGroupLocked(act.UpdateGroup.GetGroup())
	case *pb.Command_DeleteGroup:
		a.broadcastLocked(a.state.deleteGroups([]string{act.DeleteGroup.GetName()}))
	case *pb.Command_SetPermission:
		return a.setPermissionLocked(act.SetPermission.GetPermission())
	}
	return nil
}

func (a *BrokerAgent) upsertTopicLocked(t *pb.TopicConfig) error {
	c, err := normalizeTopic(t, a.opts.MaxQueueNums)
	if err != nil {
		return err
	}
	a.broadcastLocked(a.state.upsertTopics([]*pb.TopicConfig{c}))
	return nil
}

func (a *BrokerAgent) upsertGroupLocked(g *pb.GroupConfig) error {
	c, err := normalizeGroup(g)
	if err != nil {
		return err
	}
	a.broadcastLocked(a.state.upsertGroups([]*pb.GroupConfig{c}))
	return nil
}

// notify queues a callback for the callback goroutine (callbacks run in order, outside every lock).
func (a *BrokerAgent) notify(f func(o *Options)) {
	a.callbacks.Push(func() { f(&a.opts) })
}

func (a *BrokerAgent) runCallbacks() {
	defer close(a.cbDone)
	for {
		f, ok := a.callbacks.Pop()
		if !ok {
			return
		}
		a.inCallback.Store(true)
		f()
		a.inCallback.Store(false)
	}
}

func (a *BrokerAgent) warn(err error) {
	a.notify(func(o *Options) {
		if o.OnWarning != nil {
			o.OnWarning(err)
		}
	})
}

func (a *BrokerAgent) warnLocked(err error) { a.warn(err) }

func (a *BrokerAgent) outgoing(ctx context.Context) context.Context {
	var md metadata.MD
	if a.opts.Metadata != nil {
		md = a.opts.Metadata().Copy()
	}
	if a.opts.Token != "" {
		if md == nil {
			md = metadata.MD{}
		}
		md.Set("authorization", "Bearer "+a.opts.Token)
	}
	if md == nil {
		return ctx
	}
	return metadata.NewOutgoingContext(ctx, md)
}

func sortByName[T any](items []T, key func(T) string) {
	slices.SortFunc(items, func(x, y T) int { return strings.Compare(key(x), key(y)) })
}
