// The grpc-go ceiling for the getroute part: a bare grpc-go server that answers
// /nameserver.v1.RouteQuery/GetRoute with a constant, the exact response bytes the NameServer serves for
// the benchmarked route (read from the file given), through a pass-through codec: no protobuf decoding
// or encoding, no lookup. What is left is grpc-go and Go's HTTP/2 per call, the counterpart of
// bench/getroute/ceiling-server.ts for grpc-js.
//
// Usage: ceiling-go RESPONSE_FILE   (listens on 127.0.0.1:0, prints {"port":N}, stops on SIGTERM)
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// rawCodec hands message bytes through untouched.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: %T is not *[]byte", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: %T is not *[]byte", v)
	}
	*b = data
	return nil
}

func (rawCodec) Name() string { return "proto" } // what clients announce (content-type application/grpc)

var _ encoding.Codec = rawCodec{}

func main() {
	response, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling-go:", err)
		os.Exit(1)
	}
	handler := func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var in []byte
		if err := dec(&in); err != nil {
			return nil, err
		}
		return &response, nil
	}
	desc := grpc.ServiceDesc{
		ServiceName: "nameserver.v1.RouteQuery",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "GetRoute", Handler: handler}},
	}
	server := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
	server.RegisterService(&desc, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling-go:", err)
		os.Exit(1)
	}
	fmt.Printf("{\"port\":%d}\n", lis.Addr().(*net.TCPAddr).Port)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		server.Stop()
	}()
	if err := server.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling-go:", err)
		os.Exit(1)
	}
}
