/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package notification tells people outside the cluster of the moments
// they care about: a JSON webhook, a Slack incoming webhook, CloudEvents
// over HTTP. It listens where the operator already tells its story, its
// Events, so no reconciler knows of it; delivery is asynchronous, bounded
// and retried, and never holds a reconcile.
package notification

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// A Notice is one moment of one product, ready to send.
type Notice struct {
	Moment    lifecyclev1alpha1.Moment
	Namespace string
	Product   string
	// Kind and Name are the object the moment happened to: the product,
	// or its RetrainingRun.
	Kind, Name string
	Reason     string
	Message    string
	Warning    bool
	Time       time.Time
}

// key identifies a notice for deduplication: the same moment with the same
// words for the same object, to the same sink.
func (n Notice) key(sink string) string {
	return strings.Join([]string{sink, n.Namespace, n.Kind, n.Name, string(n.Moment), n.Message}, "\x00")
}

// SinkType is how a sink wants its payload.
type SinkType string

// Sink types.
const (
	// Webhook posts the notice as a JSON document.
	Webhook SinkType = "Webhook"
	// Slack posts a Slack incoming webhook's {"text": ...}.
	Slack SinkType = "Slack"
	// CloudEvents posts a CloudEvent in structured mode
	// (application/cloudevents+json).
	CloudEvents SinkType = "CloudEvents"
)

// Sink is one receiver, as the operator's notification Secret declares it.
type Sink struct {
	Name  string   `json:"name"`
	Type  SinkType `json:"type"`
	URL   string   `json:"url"`
	Token string   `json:"token,omitempty"`
}

// request renders n for the sink.
func (s Sink) request(ctx context.Context, n Notice) (*http.Request, error) {
	var body []byte
	var err error
	contentType := "application/json"
	doc := map[string]any{
		"moment": n.Moment, "namespace": n.Namespace, "product": n.Product,
		"object": map[string]string{"kind": n.Kind, "name": n.Name},
		"reason": n.Reason, "message": n.Message, "severity": severity(n), "time": n.Time.UTC().Format(time.RFC3339),
	}
	switch s.Type {
	case Slack:
		icon := ":large_blue_circle:"
		if n.Warning {
			icon = ":warning:"
		}
		body, err = json.Marshal(map[string]string{"text": fmt.Sprintf("%s *%s/%s* %s: %s", icon, n.Namespace, n.Product, n.Moment, n.Message)})
	case CloudEvents:
		contentType = "application/cloudevents+json"
		body, err = json.Marshal(map[string]any{
			"specversion": "1.0", "id": newID(), "source": "/aipm-operator/namespaces/" + n.Namespace + "/aiproducts/" + n.Product,
			"type": "io.aipm.lifecycle." + string(n.Moment), "subject": n.Kind + "/" + n.Name,
			"time": n.Time.UTC().Format(time.RFC3339Nano), "datacontenttype": "application/json", "data": doc,
		})
	default:
		body, err = json.Marshal(doc)
	}
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "aipm-operator")
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	return req, nil
}

func severity(n Notice) string {
	if n.Warning {
		return "warning"
	}
	return "info"
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
