// Package queue is an unbounded FIFO drained by one goroutine: the order-keeping hand-off between the
// goroutines that decide what to send (or deliver) and the one that does it, without ever blocking
// the decider on a slow stream or listener.
package queue

import "sync"

// Queue is an unbounded FIFO of T. Push never blocks; Pop blocks until an item or Close.
type Queue[T any] struct {
	mu     sync.Mutex
	items  []T
	ready  chan struct{}
	closed bool
}

// New returns an empty queue.
func New[T any]() *Queue[T] {
	return &Queue[T]{ready: make(chan struct{}, 1)}
}

// Push appends v; it returns false (and drops v) once the queue is closed.
func (q *Queue[T]) Push(v T) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.items = append(q.items, v)
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// Pop returns the oldest item, waiting for one; ok is false once the queue is closed (items still
// queued at Close are dropped).
func (q *Queue[T]) Pop() (v T, ok bool) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return v, false
		}
		if len(q.items) > 0 {
			v = q.items[0]
			var zero T
			q.items[0] = zero
			q.items = q.items[1:]
			q.mu.Unlock()
			return v, true
		}
		q.mu.Unlock()
		<-q.ready
	}
}

// Close wakes Pop for good and drops what is queued.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	q.items = nil
	close(q.ready)
}
