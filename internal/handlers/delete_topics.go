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
	for _, tg := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic = tg.name
		st.TopicID = tg.id
		err := env.Meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
			var t *metadata.Topic
			switch {
			case tg.name != nil:
				t = img.Topic(*tg.name)
				if t == nil {
					return nil, fmt.Errorf("%w: topic %q does not exist", metadata.ErrUnknownTopic, *tg.name)
				}
			default:
				t = img.TopicByID(tg.id)
				if t == nil {
					return nil, errUnknownTopicID
				}
			}
			if !enabled {
				return nil, metadata.ErrTopicDeletionDisabled
			}
			if metadata.IsInternalTopic(t.Name) {
				return nil, fmt.Errorf("%w: %s cannot be deleted", metadata.ErrInternalTopic, t.Name)
			}
			name := t.Name
			st.Topic = &name
			st.TopicID = t.ID
			return []metadata.Record{{Type: metadata.TypeDeleteTopic, TopicID: t.ID}}, nil
		})
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
