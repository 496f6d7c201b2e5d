package brokeragent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/backoff"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/internal/queue"
	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

// Phase is where a session stands.
type Phase string

// The phases of a session.
const (
	// PhaseConnecting: no stream, or waiting for the back-off before the next one.
	PhaseConnecting Phase = "connecting"
	// PhaseRegistering: the registration is sent, not accepted yet.
	PhaseRegistering Phase = "registering"
	// PhaseReady: accepted; deltas, reports and command results flow.
	PhaseReady Phase = "ready"
	// PhaseClosed: the agent is leaving or the address was dropped.
	PhaseClosed Phase = "closed"
)

// SessionStats are the counters of one NameServer session, for tests, logs and metrics.
type SessionStats struct {
	// Address is the NameServer's address.
	Address string
	// Phase is where the session stands.
	Phase Phase
	// HeldCounter is the data version counter this NameServer holds once it processed what was sent
	// (0: none).
	HeldCounter uint64
	// Connects counts streams opened.
	Connects uint64
	// Registrations counts full registrations sent (each possibly in several chunks).
	Registrations uint64
	// ChunksSent counts registration chunks sent.
	ChunksSent uint64
	// LastChunkCount is the number of chunks of the latest registration.
	LastChunkCount uint64
	// DeltasSent counts deltas sent.
	DeltasSent uint64
	// HeartbeatsSent counts heartbeats sent.
	HeartbeatsSent uint64
	// PositionsSent counts positions reports sent.
	PositionsSent uint64
	// InstancesSent counts instances reports sent.
	InstancesSent uint64
	// CommandResultsSent counts command results sent.
	CommandResultsSent uint64
	// Resyncs counts full registrations the NameServer asked for (reregister_required, or a failed
	// delta or heartbeat).
	Resyncs uint64
}

type kind string

const (
	kindRegister      kind = "register"
	kindDelta         kind = "delta"
	kindHeartbeat     kind = "heartbeat"
	kindPositions     kind = "positions"
	kindInstances     kind = "instances"
	kindCommandResult kind = "command_result"
)

// connection is one Connect stream: its outgoing queue, drained in order by a writer goroutine
// (grpc-go streams allow one sender at a time, and a send must never block the agent's lock).
type connection struct {
	out        *queue.Queue[*pb.ConnectRequest]
	cancel     context.CancelFunc
	writerDone chan struct{}
	dropErr    error
}

// session is one broker session with one NameServer replica: a Connect stream that registers (in
// chunks when large), then carries deltas, heartbeats, positions, instances and command results, each
// with a non-zero seq so the NameServer acknowledges it. It tracks the data version counter the
// NameServer holds once it has processed everything sent so far: a delta is based on it, and an Ack
// that asks for a re-register (or a failed delta or heartbeat) makes the session send the full
// registration again. A stream that fails or ends is reopened with jittered exponential back-off and
// starts over with a full registration. Messages are pipelined: the NameServer processes them in
// order, so the session waits for nothing but `accepted` before sending more than the registration.
//
// Every field below conn is guarded by the agent's lock.
type session struct {
	a       *BrokerAgent
	address string
	conn    *grpc.ClientConn
	backoff *backoff.Backoff
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}

	stream          *connection
	phase           Phase
	seq             uint64
	held            uint64
	registrationSeq uint64
	inflight        map[uint64]kind
	halted          bool
	stats           SessionStats
}

func newSession(a *BrokerAgent, address string, conn *grpc.ClientConn) *session {
	ctx, cancel := context.WithCancel(a.ctx)
	return &session{
		a: a, address: address, conn: conn, backoff: backoff.New(a.opts.Backoff),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		phase: PhaseConnecting, inflight: map[uint64]kind{},
	}
}

func (s *session) ready() bool { return s.phase == PhaseReady }

func (s *session) snapshot() SessionStats {
	st := s.stats
	st.Address, st.Phase, st.HeldCounter = s.address, s.phase, s.held
	return st
}

// run owns the session's streams until the session is closed.
func (s *session) run() {
	defer close(s.done)
	for {
		s.a.mu.Lock()
		halted := s.halted
		s.a.mu.Unlock()
		if halted || s.ctx.Err() != nil {
			return
		}
		err := s.connectOnce()
		s.a.mu.Lock()
		halted = s.halted
		if !halted {
			s.phase = PhaseConnecting
		}
		s.a.mu.Unlock()
		// A halted session was closed on purpose (the agent left, or dropped the address and says so).
		if err != nil && !halted && !s.a.isStopped() {
			address := s.address
			s.a.notify(func(o *Options) {
				if o.OnDisconnected != nil {
					o.OnDisconnected(address, err)
				}
			})
		}
		if halted {
			return
		}
		t := time.NewTimer(s.backoff.Next())
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
	}
}

// connectOnce opens a stream, registers, and serves it until it ends; it returns why it ended.
func (s *session) connectOnce() error {
	ctx, cancel := context.WithCancel(s.a.outgoing(s.ctx))
	defer cancel()
	stream, err := pb.NewBrokerRegistryClient(s.conn).Connect(ctx)
	if err != nil {
		return err
	}
	c := &connection{out: queue.New[*pb.ConnectRequest](), cancel: cancel, writerDone: make(chan struct{})}
	go func() {
		defer close(c.writerDone)
		for {
			m, ok := c.out.Pop()
			if !ok {
				return
			}
			if err := stream.Send(m); err != nil {
				return // Recv sees why
			}
		}
	}()
	s.a.mu.Lock()
	if s.halted {
		s.a.mu.Unlock()
		c.out.Close()
		<-c.writerDone
		return nil
	}
	s.stream = c
	s.phase = PhaseRegistering
	s.stats.Connects++
	s.sendRegistrationLocked()
	s.a.mu.Unlock()

	var recvErr error
	for {
		m, err := stream.Recv()
		if err != nil {
			recvErr = err
			break
		}
		s.a.mu.Lock()
		s.onMessageLocked(m)
		s.a.mu.Unlock()
	}
	s.a.mu.Lock()
	if c.dropErr != nil {
		recvErr = c.dropErr
	} else if errors.Is(recvErr, io.EOF) {
		recvErr = errors.New("the NameServer ended the session")
	}
	if s.stream == c {
		s.stream = nil
		s.held = 0
		clear(s.inflight)
	}
	c.out.Close()
	s.a.mu.Unlock()
	cancel()
	<-c.writerDone
	return recvErr
}

// dropLocked ends the current stream with err (the receive loop then reconnects after a back-off).
func (s *session) dropLocked(err error) {
	if s.stream == nil {
		return
	}
	s.stream.dropErr = err
	s.stream.cancel()
}

// writeLocked queues one message with the next seq.
func (s *session) writeLocked(k kind, req *pb.ConnectRequest) {
	if s.halted || s.stream == nil {
		return
	}
	s.seq++
	req.Seq = s.seq
	s.inflight[s.seq] = k
	s.stream.out.Push(req)
}

// sendRegistrationLocked sends the full registration at the current version (chunked). From here on
// the NameServer holds that version, whatever it held before.
func (s *session) sendRegistrationLocked() {
	if s.stream == nil || s.halted {
		return
	}
	chunks := s.a.state.registration()
	s.registrationSeq = s.seq + 1
	for _, r := range chunks {
		s.writeLocked(kindRegister, &pb.ConnectRequest{Body: &pb.ConnectRequest_Register{Register: r}})
	}
	s.held = s.a.state.counter
	s.stats.Registrations++
	s.stats.ChunksSent += uint64(len(chunks))
	s.stats.LastChunkCount = uint64(len(chunks))
}

// sendDeltaLocked sends one change. A session not accepted yet skips it (it re-registers at
// acceptance when the version moved meanwhile); one whose NameServer does not hold the change's base
// version gets the full registration instead.
func (s *session) sendDeltaLocked(c *change) {
	if !s.ready() {
		return
	}
	if s.held != c.baseCounter {
		s.sendRegistrationLocked()
		return
	}
	h := s.a.state.header
	delta := &pb.ReportDeltaRequest{
		Cluster: h.cluster, BrokerName: h.brokerName, BrokerId: h.brokerID,
		BaseCounter:  c.baseCounter,
		DataVersion:  &pb.DataVersion{Epoch: s.a.state.epoch, Counter: c.counter},
		UpsertTopics: c.upsertTopics, DeleteTopics: c.deleteTopics,
		UpsertGroups: c.upsertGroups, DeleteGroups: c.deleteGroups,
	}
	s.writeLocked(kindDelta, &pb.ConnectRequest{Body: &pb.ConnectRequest_Delta{Delta: delta}})
	s.held = c.counter
	s.stats.DeltasSent++
	address := s.address
	s.a.notify(func(o *Options) {
		if o.OnDelta != nil {
			o.OnDelta(address, delta)
		}
	})
}

// sendHeartbeatLocked sends a keep-alive carrying the version this NameServer should hold; its Ack
// says when it does not.
func (s *session) sendHeartbeatLocked() {
	if !s.ready() || s.held == 0 {
		return
	}
	h := s.a.state.header
	s.writeLocked(kindHeartbeat, &pb.ConnectRequest{Body: &pb.ConnectRequest_Heartbeat{Heartbeat: &pb.HeartbeatRequest{
		Cluster: h.cluster, BrokerName: h.brokerName, BrokerId: h.brokerID,
		DataVersion: &pb.DataVersion{Epoch: s.a.state.epoch, Counter: s.held},
	}}})
	s.stats.HeartbeatsSent++
}

func (s *session) sendPositionsLocked(p *PositionsReport) {
	if !s.ready() {
		return
	}
	h := s.a.state.header
	s.writeLocked(kindPositions, &pb.ConnectRequest{Body: &pb.ConnectRequest_Positions{Positions: &pb.ReportPositionsRequest{
		Cluster: h.cluster, BrokerName: h.brokerName, BrokerId: h.brokerID,
		QueuePositions: p.QueuePositions, ConsumerPositions: p.ConsumerPositions, Full: true,
	}}})
	s.stats.PositionsSent++
}

func (s *session) sendInstancesLocked(instances []*pb.ClientInstance) {
	if !s.ready() {
		return
	}
	h := s.a.state.header
	s.writeLocked(kindInstances, &pb.ConnectRequest{Body: &pb.ConnectRequest_Instances{Instances: &pb.ReportInstancesRequest{
		Cluster: h.cluster, BrokerName: h.brokerName, BrokerId: h.brokerID, Instances: instances, Full: true,
	}}})
	s.stats.InstancesSent++
}

// sendCommandResultLocked sends a command's result; false when the session is not accepted (the
// result is dropped: the NameServer that sent the command has lost the session anyway).
func (s *session) sendCommandResultLocked(r *pb.CommandResult) bool {
	if !s.ready() {
		return false
	}
	s.writeLocked(kindCommandResult, &pb.ConnectRequest{Body: &pb.ConnectRequest_CommandResult{CommandResult: r}})
	s.stats.CommandResultsSent++
	address := s.address
	s.a.notify(func(o *Options) {
		if o.OnCommandResult != nil {
			o.OnCommandResult(address, r)
		}
	})
	return true
}

func (s *session) onMessageLocked(m *pb.ConnectResponse) {
	if s.halted {
		return
	}
	switch b := m.GetBody().(type) {
	case *pb.ConnectResponse_Ack:
		s.onAckLocked(b.Ack)
	case *pb.ConnectResponse_Accepted:
		s.phase = PhaseReady
		s.backoff.Reset()
		// Changes made while the registration was in flight were not sent as deltas: catch up.
		if s.held != s.a.state.counter {
			s.sendRegistrationLocked()
		}
		s.a.acceptedLocked(s, b.Accepted)
	case *pb.ConnectResponse_Command:
		s.a.commandLocked(s, b.Command)
	}
}

func (s *session) onAckLocked(ack *pb.Ack) {
	k := s.inflight[ack.GetSeq()]
	delete(s.inflight, ack.GetSeq())
	address := s.address
	if ack.GetOk() && !ack.GetReregisterRequired() {
		if k == kindPositions || k == kindInstances {
			s.a.notify(func(o *Options) {
				if o.OnReported != nil {
					o.OnReported(address, string(k))
				}
			})
		}
		return
	}
	// A full registration sent after this message supersedes whatever this Ack complains about.
	if ack.GetSeq() < s.registrationSeq {
		return
	}
	if k == kindRegister {
		// The content was refused; sending it again at once would be refused again. Start over later.
		msg := ack.GetError()
		s.a.notify(func(o *Options) {
			if o.OnRejected != nil {
				o.OnRejected(address, msg)
			}
		})
		s.dropLocked(fmt.Errorf("registration refused: %s", msg))
		return
	}
	if ack.GetReregisterRequired() || k == kindDelta || k == kindHeartbeat {
		s.stats.Resyncs++
		reason := ack.GetError()
		if reason == "" {
			reason = "the NameServer asked for a full registration"
		}
		s.a.notify(func(o *Options) {
			if o.OnResync != nil {
				o.OnResync(address, reason)
			}
		})
		s.sendRegistrationLocked()
		return
	}
	s.a.warnLocked(fmt.Errorf("%s: %s %d refused: %s", s.address, k, ack.GetSeq(), ack.GetError()))
	// A refused report may mean the NameServer lost this broker; a heartbeat's Ack says so precisely.
	if k == kindPositions || k == kindInstances {
		s.sendHeartbeatLocked()
	}
}

// haltLocked stops sending and reconnecting but keeps the stream open: between this and close the
// agent unregisters, and nothing sent meanwhile (a re-register after a late Ack, a reconnect) may
// add the broker back after the unregister removed it.
func (s *session) haltLocked() {
	s.halted = true
	s.phase = PhaseClosed
}

// unregister is the graceful leave: UnregisterBroker with this agent's epoch (it never removes a
// newer registration).
func (s *session) unregister(ctx context.Context, req *pb.UnregisterBrokerRequest) error {
	_, err := pb.NewBrokerRegistryClient(s.conn).UnregisterBroker(s.a.outgoing(ctx), req)
	return err
}

// close ends the session for good: stream cancelled, goroutines ended, channel closed.
func (s *session) close() {
	s.a.mu.Lock()
	s.haltLocked()
	s.a.mu.Unlock()
	s.cancel()
	<-s.done
	_ = s.conn.Close()
}
