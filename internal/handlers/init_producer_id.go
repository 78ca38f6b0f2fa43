package handlers

// InitProducerId (key 22), v0–v4, for idempotent producers only: every
// call gets a fresh producer id with epoch 0 (as Kafka does for a producer
// without a transactional id, also when it passes its old id under
// KIP-360). A transactional id is answered with UNSUPPORTED_VERSION until
// transactions exist, so clients fail fast instead of retrying.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 22, MinVersion: 0, MaxVersion: 4, Handle: initProducerID})
}

func initProducerID(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.InitProducerIDRequest)
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID = -1
	resp.ProducerEpoch = -1
	if r.TransactionalID != nil {
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		return resp, nil
	}
	id, err := env.ProducerIDs.Next()
	if err != nil {
		env.Logger.Error("allocating producer id", "err", err)
		resp.ErrorCode = kerr.UnknownServerError.Code
		return resp, nil
	}
	resp.ProducerID = id
	resp.ProducerEpoch = 0
	return resp, nil
}
