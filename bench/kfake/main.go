// Command kfake runs franz-go's kfake, an in-process Kafka broker written
// in Go, as a standalone single-broker process: the reference peer of the
// comparison in bench/. Kept in its own module (bench/go.mod) so that the
// broker under comparison never becomes a dependency of Strata itself.
//
//	kfake -listen 127.0.0.1:9192              # everything in memory
//	kfake -listen 127.0.0.1:9192 -data-dir D  # kfake's disk persistence
//	kfake ... -sync                           # fsync every batch
//
// It prints "ready <addr>" on stdout once it accepts connections and shuts
// down cleanly on SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9192", "host:port to serve on")
	dataDir := flag.String("data-dir", "", "persist to this directory (kfake's DataDir); empty: memory only")
	syncWrites := flag.Bool("sync", false, "fsync every produced batch (kfake's SyncWrites)")
	flag.Parse()

	host, portStr, err := net.SplitHostPort(*listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake: -listen:", err)
		os.Exit(2)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake: -listen port:", err)
		os.Exit(2)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, portStr))
		}),
		kfake.DefaultNumPartitions(1),
	}
	if *dataDir != "" {
		opts = append(opts, kfake.DataDir(*dataDir))
	}
	if *syncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
	fmt.Println("ready", c.ListenAddrs()[0])

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	<-sigs
	c.Close()
}
