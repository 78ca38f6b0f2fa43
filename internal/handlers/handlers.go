// Package handlers answers Kafka requests: one file per API, each thin —
// decode (already done by kmsg), check, call into the layer below, encode.
// Handlers hold no state; everything they need comes through an Env.
//
// A per-partition or per-resource failure becomes a Kafka error code in the
// response. A Go error returned from a handler means the request could not
// be answered at all; the server then closes that connection.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/controller"
	"github.com/strata-io/strata/internal/group"
	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/partition"
	"github.com/strata-io/strata/internal/storage"
)

// ErrCloseConnection asks the server to close the connection as a
// protocol signal rather than a fault (e.g. a failed acks=0 produce).
var ErrCloseConnection = errors.New("closing connection to signal an error")

// Env is what the handlers may use of the broker.
type Env struct {
	NodeID int32
	Logger *slog.Logger
	Meta   *metadata.Store
	Parts  *partition.Set
	Logs   *storage.Manager
	// ProducerIDs hands out producer ids for InitProducerId.
	ProducerIDs interface{ Next() (int64, error) }
	// Config returns the broker's effective configuration (static values
	// with the dynamic ones from the metadata image laid over them).
	Config func() config.Broker
	// Groups is the group coordinator.
	Groups *group.Coordinator
	// Controller forwards the cluster admin APIs (reassignments, leader
	// elections, the quorum) to the active controller.
	Controller *controller.Controller
}

// Request is one decoded request with its header.
type Request struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      string
	// ClientHost is the client's address as Kafka reports it in group
	// descriptions ("/127.0.0.1").
	ClientHost string
	Body       kmsg.Request
}

// groupRequest is the caller's identity for the group coordinator.
func (r *Request) groupRequest() group.Request {
	return group.Request{Version: r.Version, ClientID: r.ClientID, ClientHost: r.ClientHost}
}

// Func answers one request. The response's version is set by the caller.
type Func func(ctx context.Context, env *Env, req *Request) (kmsg.Response, error)

// API is one implemented Kafka API: the versions served and the handler.
type API struct {
	Key        int16
	MinVersion int16
	MaxVersion int16
	// AdvertiseFromV0 makes ApiVersions report v0 as the minimum while
	// requests below MinVersion are still refused. See produce.go for the
	// one API that needs it.
	AdvertiseFromV0 bool
	// Enabled, if set, says whether the broker's configuration serves the
	// API at all; ApiVersions leaves out an API that is off (as Kafka does
	// for ConsumerGroupHeartbeat without the consumer group protocol).
	Enabled func(env *Env) bool
	Handle  Func
}

// advertisedMin is the minimum version ApiVersions reports for a.
func (a API) advertisedMin() int16 {
	if a.AdvertiseFromV0 {
		return 0
	}
	return a.MinVersion
}

// table lists every implemented API. ApiVersions advertises exactly this.
var table = map[int16]API{}

func register(a API) { table[a.Key] = a }

// Lookup returns the API for key, if implemented.
func Lookup(key int16) (API, bool) {
	a, ok := table[key]
	return a, ok
}

// APIs lists the implemented APIs sorted by key.
func APIs() []API {
	out := make([]API, 0, len(table))
	for _, a := range table {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
