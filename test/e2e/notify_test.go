//go:build e2e

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

package e2e

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// sink is a real HTTP receiver the test starts: it keeps every request it
// answers, answers each with status, or never answers when it hangs.
type sink struct {
	*httptest.Server
	mu      sync.Mutex
	bodies  []map[string]any
	ctypes  []string
	status  int
	hanging chan struct{}
}

func newSink(status int, hang bool) *sink {
	s := &sink{status: status}
	if hang {
		s.hanging = make(chan struct{})
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.hanging != nil {
			select {
			case <-s.hanging:
			case <-r.Context().Done():
			}
			return
		}
		b, _ := io.ReadAll(r.Body)
		var doc map[string]any
		_ = json.Unmarshal(b, &doc)
		s.mu.Lock()
		s.bodies, s.ctypes = append(s.bodies, doc), append(s.ctypes, r.Header.Get("Content-Type"))
		s.mu.Unlock()
		w.WriteHeader(s.status)
	}))
	DeferCleanup(func() {
		if s.hanging != nil {
			close(s.hanging)
		}
		s.Close()
	})
	return s
}

// moments are the moments the sink received, by whatever field its format
// carries them in.
func (s *sink) moments() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, b := range s.bodies {
		switch {
		case b["moment"] != nil:
			out = append(out, b["moment"].(string))
		case b["type"] != nil:
			out = append(out, b["type"].(string))
		case b["text"] != nil:
			out = append(out, b["text"].(string))
		}
	}
	return out
}

// notificationSpecs: the moments of a product's life reach real receivers
// in the three formats, a receiver that fails is retried and counted, and
// one that hangs holds no reconcile.
func notificationSpecs() {
	It("tells each subscribed moment to real receivers as JSON, Slack and CloudEvents, retries a failing one, and is not held by a hanging one", func() {
		if onKind {
			Skip("the receivers listen on the test's host, which the in-cluster operator cannot reach")
		}
		const name = "e2e-notify"
		p99 := func() float64 {
			GinkgoHelper()
			_, v, err := promQuery(`histogram_quantile(0.99, sum by (le) (rate(controller_runtime_reconcile_time_seconds_bucket{controller="aiproduct"}[3m])))`)
			Expect(err).NotTo(HaveOccurred())
			if math.IsNaN(v) {
				return 0 // no reconcile in the window
			}
			return v
		}
		before := p99()
		hook, slack, ce := newSink(http.StatusOK, false), newSink(http.StatusOK, false), newSink(http.StatusNoContent, false)
		failing, hanging := newSink(http.StatusInternalServerError, false), newSink(0, true)
		apply(`
apiVersion: v1
kind: Secret
metadata: {name: aipm-operator-notifications, namespace: default}
stringData:
  notifications.yaml: |
    sinks:
    - {name: hook, type: Webhook, url: "` + hook.URL + `", token: e2e-token}
    - {name: slack, type: Slack, url: "` + slack.URL + `"}
    - {name: events, type: CloudEvents, url: "` + ce.URL + `"}
    - {name: failing, type: Webhook, url: "` + failing.URL + `"}
    - {name: hanging, type: Webhook, url: "` + hanging.URL + `"}
`)
		DeferCleanup(func() { _, _ = kubectlMaybe("delete", "secret", "aipm-operator-notifications", "-n", "default") })
		// The operator reads the Secret every 2s in this suite.
		Eventually(func() float64 { _, v, _ := promQuery(`max(aipm_notification_sinks)`); return v }).Should(Equal(5.0))

		rollout := `      progressDeadline: 60s
      steps:
      - setWeight: 50
      - analysis:
          interval: 2s
          count: 2
          metrics:
          - {name: error-ratio, query: 'max(model_error_ratio{product=$product, version=$version})', threshold: "0.01", direction: AtMost}
      postPromotion: {window: 10m, objectives: [conversion]}
`
		// Every moment of a product's life: its gates, a rollout that
		// fails, one that waits for the tech lead, is promoted, then rolled
		// back when its conversions collapse; drift, and the retraining it
		// starts.
		product := func(pinned string) string {
			return business(name, pinned, rollout) + `    monitoring:
      interval: 5s
      drift:
      - {name: tenure-psi, feature: tenure, query: 'max(feature_drift_psi{product=$product, version=$version, feature="tenure"})', threshold: "0.2", statistic: PSI, for: 2s}
` + retraining + `    promotion:
      approvals: [TechLead]
  notifications:
    sinks: [hook, slack, events, failing, hanging]
`
		}
		simSetSeen("model_online_auc", labels(name, name+"-v1"), 0.93)
		traffic(name, name+"-v1", 10, 1)
		traffic(name, name+"-v3", 10, 1)
		simSetSeen("feature_drift_psi", map[string]string{"product": name, "version": name + "-v3", "feature": "tenure"}, 0.05)
		simSetSeen("model_error_ratio", labels(name, name+"-v2"), 0.3)
		simSetSeen("model_error_ratio", labels(name, name+"-v3"), 0.001)
		apply(version(name, name+"-v1", "1.0.0", "0.9") + "---" + product(name+"-v1"))
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.productionVersion}="+name+"-v1", "--timeout", "120s")

		By("a canary that fails its analysis, then one that passes")
		apply(version(name, name+"-v2", "2.0.0", "0.97") + "---" + version(name, name+"-v3", "3.0.0", "0.97"))
		kubectl("wait", "mv/"+name+"-v2", "-n", "default", "--for", "jsonpath={.status.eligible}=true", "--timeout", "60s")
		apply(product(name + "-v2"))
		kubectl("wait", "mv/"+name+"-v2", "-n", "default", "--for", "jsonpath={.status.stage}=Rejected", "--timeout", "120s")
		apply(product(name + "-v3"))
		Eventually(func() string { return cond("aip", name, "Ready", "reason") }).WithTimeout(90 * time.Second).Should(Equal("AwaitingApproval"))
		createAs("tl@example.com", `
apiVersion: lifecycle.aipm.io/v1alpha1
kind: Approval
metadata: {generateName: `+name+`-, namespace: default}
spec: {product: `+name+`, version: `+name+`-v3, role: TechLead, decision: Approve}
`)
		kubectl("wait", "mv/"+name+"-v3", "-n", "default", "--for", "jsonpath={.status.stage}=Production", "--timeout", "120s")

		By("drift on the promoted version, and its conversions collapsing")
		Eventually(func() string { return jsonpath("aip", name, `.status.objectives[?(@.name=="conversion")].result`) }).Should(Equal("Met"))
		simSetSeen("feature_drift_psi", map[string]string{"product": name, "version": name + "-v3", "feature": "tenure"}, 0.5)
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "condition=Drifted", "--timeout", "60s")
		simRate("conversions_total", labels(name, name+"-v3"), 0.1)
		kubectl("wait", "aip/"+name, "-n", "default", "--for", "jsonpath={.status.rollout.reason}=PostPromotionRollback", "--timeout", "90s")
		Eventually(func() string { return jsonpath("aip", name, ".status.retraining.lastRun.phase") }, 90*time.Second).Should(Equal("Succeeded"))

		By("every receiver hearing the moments in its own format")
		want := []string{"PhaseChanged", "GateBlocked", "RolloutStarted", "RolloutAborted", "RolloutAwaitingApproval", "RolloutPromoted",
			"DriftDetected", "RetrainingSucceeded", "ObjectiveBreached", "PostPromotionRollback"}
		Eventually(hook.moments).Should(ContainElements(want))
		var cloudTypes []any
		for _, m := range want {
			cloudTypes = append(cloudTypes, "io.aipm.lifecycle."+m)
		}
		Eventually(ce.moments).Should(ContainElements(cloudTypes...))
		Eventually(slack.moments).Should(ContainElement(MatchRegexp(`^:warning: \*default/` + name + `\* RolloutAborted: `)))
		for _, m := range want {
			Expect(slack.moments()).To(ContainElement(ContainSubstring("* "+m+": ")), "Slack heard %s", m)
		}
		Expect(slack.moments()).To(ContainElement(MatchRegexp(`^:large_blue_circle: \*default/` + name + `\* RolloutPromoted: Promoted ` + name + `-v3`)))
		hook.mu.Lock()
		Expect(hook.ctypes[0]).To(Equal("application/json"))
		hook.mu.Unlock()
		ce.mu.Lock()
		Expect(ce.ctypes[0]).To(Equal("application/cloudevents+json"))
		Expect(ce.bodies[0]).To(HaveKeyWithValue("specversion", "1.0"))
		ce.mu.Unlock()

		By("the failing receiver retried and counted; the hanging one held no reconcile")
		Eventually(func() float64 {
			_, v, _ := promQuery(`sum(aipm_notifications_total{sink="failing", result="retried"})`)
			return v
		}).Should(BeNumerically(">=", 4))
		Eventually(func() float64 {
			_, v, _ := promQuery(`sum(aipm_notifications_total{sink="failing", result="failed"})`)
			return v
		}, 90*time.Second).Should(BeNumerically(">=", 1))
		Expect(failing.moments()).NotTo(BeEmpty(), "the failing receiver was called")
		// Each attempt on the hanging receiver waits out its 5s timeout; a
		// reconcile that waited on it would take that long.
		after := p99()
		GinkgoWriter.Printf("aiproduct reconcile p99 over 3m: %.3fs before the receivers, %.3fs with one hanging\n", before, after)
		Expect(after).To(BeNumerically("<", 1), "no reconcile waited on a notification")
		Expect(after).To(BeNumerically("<=", before+0.5), "the reconcile p99 stayed where it was")
		kubectl("delete", "aip/"+name, "-n", "default", "--wait=false")
	})
}
