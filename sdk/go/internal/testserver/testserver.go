// Package testserver starts real NameServer processes for the Go SDK's tests: the repository's
// TypeScript server (`node --import tsx src/server/main.ts`) on 127.0.0.1, an ephemeral port unless told
// otherwise, no warm-up unless told otherwise. The port is read from the server's JSON log line
// "NameServer listening". Node.js and the repository's node_modules (npm ci) must be there: a missing
// one fails the test that needs it, with what to do.
package testserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

// Root is the repository root (where package.json and src/server/main.ts are).
func Root() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("testserver: cannot locate the repository")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "src", "server", "main.ts")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testserver: no src/server/main.ts above " + filepath.Dir(file))
		}
		dir = parent
	}
}

// Server is one NameServer process.
type Server struct {
	// Address is "127.0.0.1:<port>".
	Address string
	// Port is the port it listens on.
	Port int

	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// Start starts a NameServer with `--listen 127.0.0.1:0 --warmup-ms 0` followed by args (a later
// flag overrides an earlier one) and returns once it listens.
func Start(args ...string) (*Server, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("testserver: node is not on PATH (the NameServer is a Node.js program; install Node 20): %w", err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "tsx")); err != nil {
		return nil, fmt.Errorf("testserver: %s/node_modules/tsx is missing: run `npm ci` in the repository first", root)
	}
	full := append([]string{"--import", "tsx", filepath.Join(root, "src", "server", "main.ts"), "--listen", "127.0.0.1:0", "--warmup-ms", "0"}, args...)
	cmd := exec.Command(node, full...)
	cmd.Dir = root
	// The port is read from the "listening" log line, so the child logs at info whatever the caller uses.
	cmd.Env = append(os.Environ(), "NAMESERVER_LOG_LEVEL=info")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testserver: %w", err)
	}
	s := &Server{cmd: cmd, exited: make(chan struct{})}
	port := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
		found := false
		for sc.Scan() {
			if found {
				continue // keep draining: a full pipe would block the server
			}
			var line struct {
				Msg  string `json:"msg"`
				Port int    `json:"port"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "NameServer listening" && line.Port > 0 {
				found = true
				port <- line.Port
			}
		}
		_ = cmd.Wait()
		close(s.exited)
	}()
	select {
	case p := <-port:
		s.Port = p
		s.Address = "127.0.0.1:" + strconv.Itoa(p)
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("testserver: the NameServer exited before listening (%v)", cmd.ProcessState)
	case <-time.After(60 * time.Second):
		s.Kill(syscall.SIGKILL)
		return nil, errors.New("testserver: the NameServer did not listen within 60 s")
	}
}

// Kill sends sig and waits until the process has exited.
func (s *Server) Kill(sig syscall.Signal) {
	_ = s.cmd.Process.Signal(sig)
	<-s.exited
}

// Exited is closed once the process has exited.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Stop ends the process: SIGTERM, then SIGKILL after 5 s. Safe to call more than once and after Kill.
func (s *Server) Stop() {
	s.once.Do(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Signal(syscall.SIGKILL)
			<-s.exited
		}
	})
}

// WaitRoute follows topic on the NameServer at address (a WatchRoutes stream of its own) until
// pred holds for the route it has (nil: no route), checked once the subscription is answered and
// after every message; it fails when ctx ends first.
func WaitRoute(ctx context.Context, address, topic string, pred func(*pb.Route) bool) error {
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pb.NewRouteQueryClient(conn).WatchRoutes(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&pb.WatchRoutesRequest{Subscribe: []*pb.TopicSubscription{{Topic: topic}}}); err != nil {
		return err
	}
	var route *pb.Route
	synced := false
	for {
		m, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("waiting for the route of %s on %s: %w", topic, address, err)
		}
		for _, ev := range m.GetEvents() {
			switch ev.GetType() {
			case pb.RouteEventType_ROUTE_EVENT_TYPE_UPDATED:
				route = ev.GetRoute()
			case pb.RouteEventType_ROUTE_EVENT_TYPE_REMOVED:
				route = nil
			}
		}
		synced = synced || m.GetProgress() != nil
		if synced && pred(route) {
			return nil
		}
	}
}
