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

package retrain

import (
	"reflect"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func TestJobName(t *testing.T) {
	a := JobName("churn", Trigger{Kind: lifecyclev1alpha1.TriggerSchedule, Key: "1767225600"})
	if a != JobName("churn", Trigger{Kind: lifecyclev1alpha1.TriggerSchedule, Key: "1767225600"}) {
		t.Fatal("the same trigger must name the same Job")
	}
	for _, other := range []string{
		JobName("churn", Trigger{Kind: lifecyclev1alpha1.TriggerSchedule, Key: "1767229200"}),
		JobName("churn", Trigger{Kind: lifecyclev1alpha1.TriggerDrift, Key: "1767225600"}),
		JobName("churn2", Trigger{Kind: lifecyclev1alpha1.TriggerSchedule, Key: "1767225600"}),
	} {
		if other == a {
			t.Fatalf("distinct triggers share the name %s", a)
		}
	}
	if !strings.HasPrefix(a, "churn-schedule-") {
		t.Errorf("name %s does not say what it is", a)
	}
	long := JobName(strings.Repeat("p", 250), Trigger{Kind: lifecyclev1alpha1.TriggerManual, Key: "x"})
	if len(long) > 63 {
		t.Errorf("name of %d characters", len(long))
	}
}

func TestNextVersion(t *testing.T) {
	mv := func(v string) lifecyclev1alpha1.ModelVersion {
		return lifecyclev1alpha1.ModelVersion{Spec: lifecyclev1alpha1.ModelVersionSpec{Version: v}}
	}
	tests := []struct {
		in   []lifecyclev1alpha1.ModelVersion
		want string
	}{
		{nil, "0.1.0"},
		{[]lifecyclev1alpha1.ModelVersion{mv("1.2.0"), mv("1.10.3"), mv("1.9.9")}, "1.10.4"},
		{[]lifecyclev1alpha1.ModelVersion{mv("v2.0.0"), mv("2.0.0-rc.1")}, "2.0.1"},
	}
	for _, tt := range tests {
		if got := NextVersion(tt.in); got != tt.want {
			t.Errorf("NextVersion = %s, want %s", got, tt.want)
		}
	}
	if got := VersionName("churn", "1.10.4"); got != "churn-v1-10-4" {
		t.Errorf("VersionName = %s", got)
	}
}

func TestJob(t *testing.T) {
	p := &lifecyclev1alpha1.AIProduct{ObjectMeta: metav1.ObjectMeta{Name: "churn", Namespace: "ml"},
		Spec: lifecyclev1alpha1.AIProductSpec{Delivery: &lifecyclev1alpha1.DeliverySpec{Retraining: &lifecyclev1alpha1.RetrainingSpec{
			ResultContainer: "train",
			Template: &batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "ml"}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "prepare", Image: "prepare:1"}},
					Containers:     []corev1.Container{{Name: "fetch", Image: "fetch:1"}, {Name: "train", Image: "train:1"}},
				}}},
			},
		}}}}
	parent := &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: "churn-v1-0-0"},
		Spec: lifecyclev1alpha1.ModelVersionSpec{Artifact: lifecyclev1alpha1.Artifact{URI: "s3://m/1.0.0"}}}
	job, err := Job(p, Run{Name: "churn-drift-abc", Trigger: Trigger{Kind: lifecyclev1alpha1.TriggerDrift, Key: "1"}, Parent: parent, TargetVersion: "1.0.1"}, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Labels["team"] != "ml" || job.Labels[lifecyclev1alpha1.LabelProduct] != "churn" || job.Labels[LabelTrigger] != "Drift" {
		t.Errorf("labels %v", job.Labels)
	}
	if job.Annotations[AnnotationTargetName] != "churn-v1-0-1" || job.Annotations[AnnotationParentVersion] != "churn-v1-0-0" {
		t.Errorf("annotations %v", job.Annotations)
	}
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q", job.Spec.Template.Spec.RestartPolicy)
	}
	train := job.Spec.Template.Spec.Containers[1]
	env := map[string]string{}
	for _, e := range train.Env {
		env[e.Name] = e.Value
	}
	if env[EnvParentModelURI] != "s3://m/1.0.0" || env[EnvTargetVersion] != "1.0.1" || env[EnvResultContainer] != "train" || env[EnvTrigger] != "Drift" {
		t.Errorf("env %v", env)
	}
	// An init container that trains before an evaluator learns the same.
	for _, e := range job.Spec.Template.Spec.InitContainers[0].Env {
		if env[e.Name] != e.Value {
			t.Errorf("init container: %s=%q, the containers have %q", e.Name, e.Value, env[e.Name])
		}
		delete(env, e.Name)
	}
	if len(env) != 0 {
		t.Errorf("the init container lacks %v", env)
	}
	if train.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("policy %q", train.TerminationMessagePolicy)
	}
	if len(p.Spec.Delivery.Retraining.Template.Spec.Template.Spec.Containers[1].Env) != 0 {
		t.Error("rendering changed the product's template")
	}
}

func TestParseResult(t *testing.T) {
	good := `{"artifact":{"uri":"s3://m/x.onnx","format":"ONNX","digest":"sha256:` + strings.Repeat("a", 64) + `"},"metrics":{"auc":0.9},"dataset":{"uri":"s3://d"}}`
	r, err := ParseResult(good)
	if err != nil || r.Artifact.URI != "s3://m/x.onnx" || r.Metrics["auc"] != 0.9 || r.Dataset.URI != "s3://d" {
		t.Fatalf("good result: %+v, %v", r, err)
	}
	bad := map[string]string{
		"":                               "no termination message",
		"Error: out of memory":           "not a result",
		`{"artifact":{"uri":"ftp://x"}}`: "is not a model URI",
		`{"artifact":{"uri":"s3://x","format":"Pickle"}}`:                                                                  "not a known format",
		`{"artifact":{"uri":"s3://x","digest":"md5:1"}}`:                                                                   "is not sha256",
		`{"artifact":{"uri":"s3://x"},"metrics":{"bad name":1}}`:                                                           "metric name",
		`{"artifact":{"uri":"s3://x"},"extra":true}`:                                                                       "unknown field",
		`{"artifact":{"uri":"s3://x"},"metrics":{"auc":"high"}}`:                                                           "not a result",
		`{"artifact":{"uri":"s3://x"},"dataset":{"window":{"start":"2026-11-30T00:00:00Z","end":"2026-11-01T00:00:00Z"}}}`: "dataset.window needs a start no later than its end",
		`{"artifact":{"uri":"s3://x"},"dataset":{"window":{"start":"last month","end":"2026-11-01T00:00:00Z"}}}`:           "not a result",
	}
	for msg, want := range bad {
		if _, err := ParseResult(msg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseResult(%q) = %v, want an error containing %q", msg, err, want)
		}
	}
}

func TestParseEvaluation(t *testing.T) {
	r, err := ParseEvaluation(`{"metrics":{"auc":0.71},"slices":[{"metric":"recall","slice":{"group":"b"},"value":0.4},
		{"metric":"recall","slice":{"group":"a"},"value":0.6}]}`)
	if err != nil {
		t.Fatal(err)
	}
	got := r.List()
	want := []lifecyclev1alpha1.EvaluationMetric{{Name: "auc", Value: "0.71"},
		{Name: "recall", Value: "0.4", Slice: map[string]string{"group": "b"}},
		{Name: "recall", Value: "0.6", Slice: map[string]string{"group": "a"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("List() = %+v, want %+v", got, want)
	}
	bad := map[string]string{
		`{}`: "reports no metrics",
		`{"slices":[{"metric":"recall","slice":{},"value":1}]}`:                                                        "has 0 labels",
		`{"slices":[{"metric":"recall","slice":{"age group":"a"},"value":1}]}`:                                         "is not a label name",
		`{"slices":[{"metric":"recall","slice":{"g":"a"},"value":1},{"metric":"recall","slice":{"g":"a"},"value":2}]}`: "reported twice",
		`{"slices":[{"metric":"bad name","slice":{"g":"a"},"value":1}]}`:                                               "slice metric name",
		`{"metrics":{"auc":0.9},"verdict":"great"}`:                                                                    "unknown field",
	}
	for msg, want := range bad {
		if _, err := ParseEvaluation(msg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseEvaluation(%q) = %v, want an error containing %q", msg, err, want)
		}
	}
}
