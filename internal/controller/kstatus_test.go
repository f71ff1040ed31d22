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

package controller

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// Which rollout states wait for a person by design, and so read Current to
// kstatus instead of InProgress (docs/argocd.md).
func TestAwaitsPerson(t *testing.T) {
	spec := &lifecyclev1alpha1.RolloutSpec{Steps: []lifecyclev1alpha1.RolloutStep{
		{SetWeight: ptr.To[int32](20)},
		{Pause: &lifecyclev1alpha1.PauseStep{}},
		{Pause: &lifecyclev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: 60e9}}},
	}}
	for _, tt := range []struct {
		name  string
		phase lifecyclev1alpha1.RolloutPhase
		step  int32
		want  bool
	}{
		{"a pause without a duration", lifecyclev1alpha1.RolloutPaused, 1, true},
		{"a timed pause, which ends by itself", lifecyclev1alpha1.RolloutPaused, 2, false},
		{"an inconclusive analysis", lifecyclev1alpha1.RolloutInconclusive, 0, true},
		{"a step in progress", lifecyclev1alpha1.RolloutProgressing, 0, false},
		{"a promotion", lifecyclev1alpha1.RolloutPromoting, 2, false},
		{"a step past the spec's steps (the spec changed)", lifecyclev1alpha1.RolloutPaused, 7, false},
		{"every step passed, waiting for sign-off", lifecyclev1alpha1.RolloutPaused, 3, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ro := &lifecyclev1alpha1.RolloutStatus{Phase: tt.phase, Step: tt.step}
			d := &lifecyclev1alpha1.DeliverySpec{Rollout: spec}
			if tt.step == 3 {
				d.Promotion = &lifecyclev1alpha1.PromotionSpec{Approvals: []lifecyclev1alpha1.Role{lifecyclev1alpha1.RoleTechLead}}
			}
			if got := awaitsPerson(d, ro); got != tt.want {
				t.Fatalf("awaitsPerson = %t, want %t", got, tt.want)
			}
		})
	}
}

// A Discovery gate waiting only for experiments' verdicts is progress the
// operator makes by itself; any other closed gate waits for a person.
func TestGateNeedsPerson(t *testing.T) {
	for _, tt := range []struct {
		reason string
		want   bool
	}{
		{lifecyclev1alpha1.ReasonNoExperimentSucceeded, false},
		{lifecyclev1alpha1.ReasonExperimentFailed, true},
		{lifecyclev1alpha1.ReasonNoExperiment, true},
	} {
		p := newProduct(lifecyclev1alpha1.PhaseDelivery)
		p.Status.Phase = lifecyclev1alpha1.PhaseDiscovery
		p.Status.Conditions = []metav1.Condition{{Type: lifecyclev1alpha1.ConditionDiscoveryGate, Status: metav1.ConditionFalse, Reason: tt.reason}}
		if got := gateNeedsPerson(p); got != tt.want {
			t.Errorf("gate closed by %s: gateNeedsPerson = %t, want %t", tt.reason, got, tt.want)
		}
	}
}

// What kstatus (kubectl wait --for, Flux's health checks, the cli-utils
// applier) reads from each state the operator writes, as the Argo CD
// health checks' testdata hold them: docs/argocd.md shows the two side by
// side. Terminating: being deleted. InProgress: the operator will move it
// by itself. Current: the operator is done, including a rollout that waits
// for a person by design (Ready True with the wait as its reason). Failed:
// it cannot reach its spec without a person (Stalled): an aborted rollout,
// a gate only a person can open, a pinned version not eligible, a rejected
// version.
var kstatusOfState = map[string]status.Status{
	"AIProduct/no-status":                        status.InProgressStatus,
	"AIProduct/generation-behind":                status.InProgressStatus,
	"AIProduct/deleting":                         status.TerminatingStatus,
	"AIProduct/healthy-delivery":                 status.CurrentStatus,
	"AIProduct/healthy-after-abort":              status.CurrentStatus,
	"AIProduct/healthy-discovery":                status.CurrentStatus,
	"AIProduct/retired":                          status.CurrentStatus,
	"AIProduct/serving-progressing":              status.InProgressStatus,
	"AIProduct/canary-progressing":               status.InProgressStatus,
	"AIProduct/canary-progressing-no-retraining": status.InProgressStatus,
	"AIProduct/canary-promoting":                 status.InProgressStatus,
	"AIProduct/canary-paused":                    status.CurrentStatus,
	"AIProduct/canary-inconclusive":              status.CurrentStatus,
	"AIProduct/gate-blocked":                     status.FailedStatus,
	"AIProduct/canary-aborted":                   status.FailedStatus,
	"AIProduct/aborted-reconcile-error":          status.InProgressStatus,
	"AIProduct/version-not-eligible":             status.FailedStatus,
	"AIProduct/version-not-found":                status.InProgressStatus,
	"ModelVersion/no-status":                     status.InProgressStatus,
	"ModelVersion/generation-behind":             status.InProgressStatus,
	"ModelVersion/deleting":                      status.TerminatingStatus,
	"ModelVersion/product-not-found":             status.InProgressStatus,
	"ModelVersion/candidate-eligible":            status.CurrentStatus,
	"ModelVersion/evaluating":                    status.InProgressStatus,
	"ModelVersion/candidate-not-eligible":        status.CurrentStatus,
	"ModelVersion/staging":                       status.CurrentStatus,
	"ModelVersion/production":                    status.CurrentStatus,
	"ModelVersion/archived":                      status.CurrentStatus,
	"ModelVersion/rejected":                      status.FailedStatus,
}

func TestKstatusOfEveryState(t *testing.T) {
	files, err := filepath.Glob("../../config/argocd/resource_customizations/lifecycle.aipm.io/*/testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata (%v)", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(filepath.Dir(filepath.Dir(f))) + "/" + strings.TrimSuffix(filepath.Base(f), ".yaml")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := kstatusOfState[name]
			if !ok {
				t.Fatal("a state without its kstatus: add it to kstatusOfState and to docs/argocd.md")
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			j, err := yaml.YAMLToJSON(b)
			if err != nil {
				t.Fatal(err)
			}
			// As a client decodes it: integers as int64.
			obj := &unstructured.Unstructured{}
			if err := obj.UnmarshalJSON(j); err != nil {
				t.Fatal(err)
			}
			res, err := status.Compute(obj)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != want {
				t.Errorf("kstatus %s (%s), want %s", res.Status, res.Message, want)
			}
		})
	}
	for name := range kstatusOfState {
		if !seen[name] {
			t.Errorf("%s: no testdata for it", name)
		}
	}
}
