package conformance

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain turns the binary into a conformance broker process when the runner re-executes it for a
// broker that a scenario SIGKILLs; otherwise it runs the tests and then checks that no goroutine
// outlived them (clients, agents, servers' pipes: everything a scenario started is stopped).
func TestMain(m *testing.M) {
	MaybeRunBrokerProcess()
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goroutines left after the conformance tests: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// TestConformance plays every scenario of test/conformance/scenarios with the Go SDK. Measured numbers
// (failover bytes, removal times, chunks) are logged; budgets are never asserted.
func TestConformance(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	scenarios, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scenarios {
		t.Run(s.Name, func(t *testing.T) {
			reports, err := Run(s)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("conformance %s: %s", s.Name, Line(reports))
		})
	}
}
