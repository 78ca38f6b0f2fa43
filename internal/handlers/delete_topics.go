package handlers

// DeleteTopics (key 20), v0–v6; by id from v6. The topic leaves the
// metadata first, then the broker closes and removes its partition logs.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

func init() {
	register(API{Key: 20, MinVersion: 0, MaxVersion: 6, Handle: deleteTopics})
}

func deleteTopics(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.DeleteTopicsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type target struct {
		name *string
		id   metadata.UUID
	}
	var targets []target
	if req.Version >= 6 {
		for _, t := range r.Topics {
			targets = append(targets, target{t.Topic, metadata.UUID(t.TopicID)})
		}
	} else {
		for i := range r.TopicNames {
			targets = append(targets, target{name: &r.TopicNames[i]})
		}
	}
	enabled := env.Config().Bool("delete.topic.enable")
	sts := make([]kmsg.DeleteTopicsResponseTopic, len(targets))
	errs := make([]error, len(targets))
	// NB: one metadata update for the whole request (one journal fsync,
	// one reconciliation deleting every partition with one checkpoint
	// write), not one per topic.
	uerr := env.Meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		var recs []metadata.Record
		deleted := map[metadata.UUID]bool{} // by this request: a repeat finds it gone
		for i, tg := range targets {
			st := &sts[i]
			*st = kmsg.NewDeleteTopicsResponseTopic()
			st.Topic = tg.name
			st.TopicID = tg.id
			var t *metadata.Topic
			switch {
			case tg.name != nil:
				if t = img.Topic(*tg.name); t == nil || deleted[t.ID] {
					errs[i] = fmt.Errorf("%w: topic %q does not exist", metadata.ErrUnknownTopic, *tg.name)
					continue
				}
			default:
				if t = img.TopicByID(tg.id); t == nil || deleted[t.ID] {
					errs[i] = errUnknownTopicID
					continue
				}
			}
			if !enabled {
				errs[i] = metadata.ErrTopicDeletionDisabled
				continue
			}
			if metadata.IsInternalTopic(t.Name) {
				errs[i] = fmt.Errorf("%w: %s cannot be deleted", metadata.ErrInternalTopic, t.Name)
				continue
			}
			name := t.Name
			st.Topic = &name
			st.TopicID = t.ID
			deleted[t.ID] = true
			recs = append(recs, metadata.Record{Type: metadata.TypeDeleteTopic, TopicID: t.ID})
		}
		return recs, nil
	})
	for i := range targets {
		st, err := sts[i], errs[i]
		if err == nil && uerr != nil {
			err = uerr // the journal write failed: nothing was deleted
		}
		st.ErrorCode = errorCode(err)
		if err == errUnknownTopicID {
			st.ErrorCode = kerr.UnknownTopicID.Code
		}
		st.ErrorMessage = errorMessage(err)
		if err == nil {
			env.Logger.Info("deleted topic", "topic", *st.Topic)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

var errUnknownTopicID = fmt.Errorf("unknown topic id")
