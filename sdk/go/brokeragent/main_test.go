package brokeragent_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/internal/testserver"
)

// nameserver is the address of the NameServer process TestMain starts for the examples and tests.
var nameserver string

// TestMain starts a real NameServer (a process of the repository's server on 127.0.0.1), runs the
// tests and the examples, stops it, and then fails when a goroutine outlived them.
func TestMain(m *testing.M) {
	srv, err := testserver.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	nameserver = srv.Address
	code := m.Run()
	srv.Stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}
