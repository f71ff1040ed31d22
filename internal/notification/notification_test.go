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

package notification

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/testenv"
)

func TestMomentOf(t *testing.T) {
	w, n := corev1.EventTypeWarning, corev1.EventTypeNormal
	tests := []struct {
		kind, typ, reason, action string
		want                      lifecyclev1alpha1.Moment
	}{
		{"AIProduct", n, "PhaseChanged", "MovePhase", lifecyclev1alpha1.MomentPhaseChanged},
		{"AIProduct", w, "RiskUnmitigated", "DiscoveryGate", lifecyclev1alpha1.MomentGateBlocked},
		{"AIProduct", n, "GatePassed", "DiscoveryGate", ""},
		{"AIProduct", n, "RolloutStarted", "Rollout", lifecyclev1alpha1.MomentRolloutStarted},
		{"AIProduct", n, "AwaitingApproval", "Rollout", lifecyclev1alpha1.MomentRolloutAwaitingApproval},
		{"AIProduct", n, "RolloutSucceeded", "Rollout", lifecyclev1alpha1.MomentRolloutPromoted},
		{"AIProduct", w, "RolloutAborted", "Rollout", lifecyclev1alpha1.MomentRolloutAborted},
		{"AIProduct", w, "PostPromotionRollback", "Rollout", lifecyclev1alpha1.MomentPostPromotionRollback},
		{"AIProduct", w, "DriftSustained", "Drifted", lifecyclev1alpha1.MomentDriftDetected},
		{"AIProduct", n, "NoDrift", "Drifted", ""},
		{"AIProduct", w, "ObjectiveMissed", "ObjectivesMet", lifecyclev1alpha1.MomentObjectiveBreached},
		{"AIProduct", n, "StepCompleted", "Rollout", ""},
		{"RetrainingRun", n, "RetrainingSucceeded", "Retrain", lifecyclev1alpha1.MomentRetrainingSucceeded},
		{"RetrainingRun", w, "RetrainingFailed", "Retrain", lifecyclev1alpha1.MomentRetrainingFailed},
		{"ModelVersion", w, "PolicyNotMet", "Eligible", ""},
	}
	for _, tt := range tests {
		if got := MomentOf(tt.kind, tt.typ, tt.reason, tt.action); got != tt.want {
			t.Errorf("MomentOf(%s, %s, %s, %s) = %q, want %q", tt.kind, tt.typ, tt.reason, tt.action, got, tt.want)
		}
	}
}

func TestParseConfig(t *testing.T) {
	good := `
sinks:
- {name: team-slack, type: Slack, url: "https://hooks.example.com/T1"}
- {name: audit, type: CloudEvents, url: "http://events.example.com/", token: s3cret}
namespaces:
  ml: {sinks: [team-slack], moments: [RolloutAborted]}
`
	c, err := ParseConfig([]byte(good))
	if err != nil || len(c.Sinks) != 2 || c.Namespaces["ml"].Sinks[0] != "team-slack" {
		t.Fatalf("ParseConfig = %+v, %v", c, err)
	}
	for doc, want := range map[string]string{
		`sinks: [{name: a, type: Email, url: "https://x"}]`:                                           `type "Email" is not Webhook, Slack or CloudEvents`,
		`sinks: [{name: a, type: Slack, url: "ftp://x"}]`:                                             `url "ftp://x" is not an http(s) URL`,
		`sinks: [{type: Slack, url: "https://x"}]`:                                                    "has no name",
		`sinks: [{name: a, type: Slack, url: "https://x"}, {name: a, type: Slack, url: "https://y"}]`: "declared twice",
		`sink: []`: "unknown field",
	} {
		if _, err := ParseConfig([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%q) = %v, want %q", doc, err, want)
		}
	}
}

// receiver is a real HTTP receiver: it answers with the statuses given,
// in turn, then 200, and keeps what it received.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	bodies   []map[string]any
	types    []string
	auth     []string
	statuses []int
	hang     chan struct{}
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.hang != nil {
			select {
			case <-r.hang:
			case <-req.Context().Done():
			}
			return
		}
		b, _ := io.ReadAll(req.Body)
		var doc map[string]any
		_ = json.Unmarshal(b, &doc)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.bodies = append(r.bodies, doc)
		r.types = append(r.types, req.Header.Get("Content-Type"))
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		if len(r.statuses) > 0 {
			w.WriteHeader(r.statuses[0])
			r.statuses = r.statuses[1:]
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) received() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.bodies...)
}

// dispatcher runs a Dispatcher whose Secret declares sinks and whose
// product ml/fraud subscribes to sub.
func dispatcher(t *testing.T, sinks []Sink, sub *lifecyclev1alpha1.NotificationSpec, defaults map[string]lifecyclev1alpha1.NotificationSpec) *Dispatcher {
	t.Helper()
	scheme, err := testenv.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(Config{Sinks: sinks, Namespaces: defaults})
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "notifications"}, Data: map[string][]byte{SecretKey: raw}}
	product := &lifecyclev1alpha1.AIProduct{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "fraud"}}
	product.Spec.Notifications = sub
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(secret, product).Build()
	d := &Dispatcher{Reader: c, SecretReader: c, Secret: types.NamespacedName{Namespace: "ops", Name: "notifications"},
		Client: &http.Client{Timeout: 200 * time.Millisecond}, Backoff: 10 * time.Millisecond, Attempts: 3, QueueSize: 4}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = d.Start(ctx) }()
	for {
		d.mu.Lock()
		ready := d.started && len(d.config.Sinks) == len(sinks)
		d.mu.Unlock()
		if ready {
			return d
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func notice(moment lifecyclev1alpha1.Moment, msg string) Notice {
	return Notice{Moment: moment, Namespace: "ml", Product: "fraud", Kind: "AIProduct", Name: "fraud", Reason: string(moment),
		Message: msg, Warning: true, Time: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPayloads(t *testing.T) {
	hook, slack, ce := newReceiver(t), newReceiver(t), newReceiver(t)
	d := dispatcher(t, []Sink{{Name: "hook", Type: Webhook, URL: hook.URL, Token: "t0ken"}, {Name: "slack", Type: Slack, URL: slack.URL},
		{Name: "ce", Type: CloudEvents, URL: ce.URL}}, &lifecyclev1alpha1.NotificationSpec{Sinks: []string{"hook", "slack", "ce"}}, nil)
	d.Notify(context.Background(), notice(lifecyclev1alpha1.MomentRolloutAborted, "Rolled fraud-v2 back"))
	eventually(t, "every sink received it", func() bool {
		return len(hook.received()) == 1 && len(slack.received()) == 1 && len(ce.received()) == 1
	})
	h := hook.received()[0]
	if h["moment"] != "RolloutAborted" || h["product"] != "fraud" || h["namespace"] != "ml" || h["message"] != "Rolled fraud-v2 back" ||
		h["severity"] != "warning" || h["time"] != "2026-12-04T10:00:00Z" || hook.auth[0] != "Bearer t0ken" || hook.types[0] != "application/json" {
		t.Errorf("webhook got %v, %s, %s", h, hook.auth[0], hook.types[0])
	}
	if s := slack.received()[0]["text"]; s != ":warning: *ml/fraud* RolloutAborted: Rolled fraud-v2 back" {
		t.Errorf("slack got %q", s)
	}
	e := ce.received()[0]
	if e["specversion"] != "1.0" || e["type"] != "io.aipm.lifecycle.RolloutAborted" || e["source"] != "/aipm-operator/namespaces/ml/aiproducts/fraud" ||
		e["subject"] != "AIProduct/fraud" || e["id"] == "" || ce.types[0] != "application/cloudevents+json" {
		t.Errorf("cloudevent got %v (%s)", e, ce.types[0])
	}
	if data, _ := e["data"].(map[string]any); data["message"] != "Rolled fraud-v2 back" {
		t.Errorf("cloudevent data %v", e["data"])
	}
}

func TestRetriesAndGivingUp(t *testing.T) {
	flaky := newReceiver(t, http.StatusServiceUnavailable, http.StatusInternalServerError)
	down := newReceiver(t, 500, 500, 500, 500, 500)
	d := dispatcher(t, []Sink{{Name: "flaky", Type: Webhook, URL: flaky.URL}, {Name: "down", Type: Webhook, URL: down.URL}},
		&lifecyclev1alpha1.NotificationSpec{Sinks: []string{"flaky", "down"}}, nil)
	sent, retried := testutil.ToFloat64(notifications.WithLabelValues("flaky", ResultSent)), testutil.ToFloat64(notifications.WithLabelValues("flaky", ResultRetried))
	failed := testutil.ToFloat64(notifications.WithLabelValues("down", ResultFailed))
	d.Notify(context.Background(), notice(lifecyclev1alpha1.MomentDriftDetected, "drift"))
	eventually(t, "the flaky sink answered on the third attempt", func() bool {
		return testutil.ToFloat64(notifications.WithLabelValues("flaky", ResultSent)) == sent+1
	})
	if got := testutil.ToFloat64(notifications.WithLabelValues("flaky", ResultRetried)) - retried; got != 2 {
		t.Errorf("flaky sink retried %v times, want 2", got)
	}
	eventually(t, "the sink that is down was given up after 3 attempts", func() bool {
		return testutil.ToFloat64(notifications.WithLabelValues("down", ResultFailed)) == failed+1
	})
	if got := len(down.received()); got != 3 {
		t.Errorf("the sink that is down got %d attempts, want 3", got)
	}
}

func TestAHangingSinkNeverHoldsTheCaller(t *testing.T) {
	hang, fine := newReceiver(t), newReceiver(t)
	hang.hang = make(chan struct{})
	defer close(hang.hang)
	d := dispatcher(t, []Sink{{Name: "hang", Type: Webhook, URL: hang.URL}, {Name: "fine", Type: Webhook, URL: fine.URL}},
		&lifecyclev1alpha1.NotificationSpec{Sinks: []string{"hang", "fine"}}, nil)
	dropped := testutil.ToFloat64(notifications.WithLabelValues("hang", ResultDropped))
	fineDropped := testutil.ToFloat64(notifications.WithLabelValues("fine", ResultDropped))
	// Distinct notices, so that none is a repeat: the hanging sink's
	// worker holds one, its queue four, and the rest are dropped at once.
	for i := range 20 {
		d.Notify(context.Background(), notice(lifecyclev1alpha1.MomentPhaseChanged, "phase "+string(rune('a'+i))))
	}
	if got := testutil.ToFloat64(notifications.WithLabelValues("hang", ResultDropped)) - dropped; got < 15 {
		t.Errorf("%v notices dropped for the hanging sink, want at least 15 of 20 beyond its queue of 4", got)
	}
	// The other sink is served by its own worker, whatever the first does:
	// every notice it did not drop for its own full queue arrives.
	eventually(t, "the other sink got what it queued", func() bool {
		return float64(len(fine.received()))+testutil.ToFloat64(notifications.WithLabelValues("fine", ResultDropped))-fineDropped == 20
	})
	if len(fine.received()) < 4 {
		t.Errorf("the other sink got %d notices, want at least its queue of 4", len(fine.received()))
	}
}

func TestSubscriptionsAndRepeats(t *testing.T) {
	r := newReceiver(t)
	sink := []Sink{{Name: "team", Type: Webhook, URL: r.URL}}
	d := dispatcher(t, sink, &lifecyclev1alpha1.NotificationSpec{Sinks: []string{"team", "undeclared"},
		Moments: []lifecyclev1alpha1.Moment{lifecyclev1alpha1.MomentRolloutAborted}}, nil)
	dedup := testutil.ToFloat64(notifications.WithLabelValues("team", ResultDeduplicated))
	undeclared := testutil.ToFloat64(notifications.WithLabelValues("undeclared", ResultDropped))
	d.Notify(context.Background(), notice(lifecyclev1alpha1.MomentRolloutStarted, "not subscribed"))
	d.Notify(context.Background(), notice(lifecyclev1alpha1.MomentRolloutAborted, "aborted"))
	d.Notify(context.Background(), notice(lifecyclev1alpha1.MomentRolloutAborted, "aborted"))
	eventually(t, "the repeat was recognised", func() bool {
		return testutil.ToFloat64(notifications.WithLabelValues("team", ResultDeduplicated)) == dedup+1
	})
	if got := r.received(); len(got) != 1 || got[0]["message"] != "aborted" {
		t.Errorf("received %v, want the one aborted notice", got)
	}
	if got := testutil.ToFloat64(notifications.WithLabelValues("undeclared", ResultDropped)) - undeclared; got != 2 {
		t.Errorf("notices to an undeclared sink dropped: %v, want 2", got)
	}

	def := newReceiver(t)
	d2 := dispatcher(t, []Sink{{Name: "ns-default", Type: Webhook, URL: def.URL}}, nil,
		map[string]lifecyclev1alpha1.NotificationSpec{"ml": {Sinks: []string{"ns-default"}}})
	d2.Notify(context.Background(), notice(lifecyclev1alpha1.MomentGateBlocked, "gate"))
	eventually(t, "the namespace's default subscription applied", func() bool { return len(def.received()) == 1 })
}
