package handlers

// ApiVersions (key 18), v0–v3. Advertises exactly the table of implemented
// APIs, with one exception kept for compatibility: Produce is advertised
// from v0 though only v3+ is served (see produce.go). A request for a version newer than v3 is answered in v0 layout with
// UNSUPPORTED_VERSION and the API list (KIP-511), which the server does
// before decoding the body; see server.apiVersionsFallback.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 18, MinVersion: 0, MaxVersion: 3, Handle: apiVersions})
}

func apiVersions(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	resp := req.Body.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = APIVersionList(env)
	return resp, nil
}

// APIVersionList is the ApiVersions key list: every implemented API that
// env's configuration enables (a nil env: all of them).
func APIVersionList(env *Env) []kmsg.ApiVersionsResponseApiKey {
	apis := APIs()
	out := make([]kmsg.ApiVersionsResponseApiKey, 0, len(apis))
	for _, a := range apis {
		if a.Enabled != nil && env != nil && !a.Enabled(env) {
			continue
		}
		out = append(out, kmsg.ApiVersionsResponseApiKey{ApiKey: a.Key, MinVersion: a.advertisedMin(), MaxVersion: a.MaxVersion})
	}
	return out
}
