package handlers

// Shared by the admin APIs that the active controller answers
// (AlterPartitionReassignments, ElectLeaders, DescribeQuorum): how long a
// forwarded request may wait, and the error code a failed forward gives.

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// defaultAdminTimeout bounds a forwarded request whose timeout field is
// not positive (Kafka's default for these requests is 60 s).
const defaultAdminTimeout = 60 * time.Second

// withAdminTimeout bounds ctx by a request's TimeoutMillis.
func withAdminTimeout(ctx context.Context, ms int32) (context.Context, context.CancelFunc) {
	d := time.Duration(ms) * time.Millisecond
	if d <= 0 {
		d = defaultAdminTimeout
	}
	return context.WithTimeout(ctx, d)
}

// controllerCallCode is the Kafka error code for a request the active
// controller did not answer: REQUEST_TIMED_OUT when the request's time
// ran out (no quorum leader meanwhile), NOT_CONTROLLER otherwise, which
// clients retry.
func controllerCallCode(err error) int16 {
	if errors.Is(err, context.DeadlineExceeded) {
		return kerr.RequestTimedOut.Code
	}
	return kerr.NotController.Code
}
