// Package backoff is the exponential back-off with jitter that the client and the broker agent use
// between reconnects: each delay doubles from Initial up to Max, and a random fraction (Jitter) of
// it is taken off, so that many clients that lost the same replica do not come back in step.
package backoff

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Options are the settings of a back-off.
type Options struct {
	// Initial is the first delay.
	Initial time.Duration
	// Max is the largest delay.
	Max time.Duration
	// Jitter is the fraction of each delay that is random: 0 none, 1 "full jitter".
	Jitter float64
}

// Default is 100 ms doubling to 5 s, half of each delay random (the TypeScript SDK's DEFAULT_BACKOFF).
var Default = Options{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Jitter: 0.5}

// WithDefaults returns o with every zero field taken from Default.
func (o Options) WithDefaults() Options {
	if o.Initial <= 0 {
		o.Initial = Default.Initial
	}
	if o.Max <= 0 {
		o.Max = Default.Max
	}
	if o.Max < o.Initial {
		o.Max = o.Initial
	}
	if o.Jitter <= 0 || o.Jitter > 1 {
		o.Jitter = Default.Jitter
	}
	return o
}

// Backoff hands out successive delays; Reset after a success. It is safe for concurrent use.
type Backoff struct {
	opts    Options
	mu      sync.Mutex
	attempt int
	random  func() float64
}

// New returns a Backoff with o (zero fields take the defaults).
func New(o Options) *Backoff {
	return &Backoff{opts: o.WithDefaults(), random: rand.Float64}
}

// Next returns the next delay.
func (b *Backoff) Next() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	base := b.opts.Initial << b.attempt
	if base > b.opts.Max || base <= 0 {
		base = b.opts.Max
	}
	if b.attempt < 30 {
		b.attempt++
	}
	return time.Duration(float64(base) * (1 - b.opts.Jitter*b.random()))
}

// Reset starts again from the first delay.
func (b *Backoff) Reset() {
	b.mu.Lock()
	b.attempt = 0
	b.mu.Unlock()
}
