package backoff

import (
	"testing"
	"time"
)

func TestDelaysDoubleUpToMaxWithJitterAndReset(t *testing.T) {
	b := New(Options{Initial: 100 * time.Millisecond, Max: 1 * time.Second, Jitter: 0.5})
	b.random = func() float64 { return 0 } // no jitter taken off: the bases themselves
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.Next(); got != w*time.Millisecond {
			t.Fatalf("delay %d: got %v, want %v", i, got, w*time.Millisecond)
		}
	}
	b.random = func() float64 { return 1 } // the most jitter: half of the base
	if got := b.Next(); got != 500*time.Millisecond {
		t.Fatalf("full jitter draw: got %v, want 500ms", got)
	}
	b.Reset()
	b.random = func() float64 { return 0 }
	if got := b.Next(); got != 100*time.Millisecond {
		t.Fatalf("after Reset: got %v, want 100ms", got)
	}
}

func TestZeroOptionsTakeDefaults(t *testing.T) {
	if got := (Options{}).WithDefaults(); got != Default {
		t.Fatalf("got %+v, want %+v", got, Default)
	}
}
