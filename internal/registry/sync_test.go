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
package registry

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

var product = &lifecyclev1alpha1.AIProduct{ObjectMeta: metav1.ObjectMeta{Name: "churn", Namespace: "ml"}}

func local(name, semver string, stage lifecyclev1alpha1.Stage) lifecyclev1alpha1.ModelVersion {
	return lifecyclev1alpha1.ModelVersion{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml"},
		Spec: lifecyclev1alpha1.ModelVersionSpec{Product: "churn", Version: semver,
			Artifact: lifecyclev1alpha1.Artifact{URI: "s3://m/" + semver, Format: "ONNX"},
			Metrics:  []lifecyclev1alpha1.EvaluationMetric{{Name: "auc", Value: "0.91"}, {Name: "recall", Value: "0.7", Slice: map[string]string{"g": "a"}}},
			Lineage:  &lifecyclev1alpha1.Lineage{Trigger: lifecyclev1alpha1.TriggerDrift, TrainingJob: "churn-drift-1", TrainingKind: "TrainJob"}},
		Status: lifecyclev1alpha1.ModelVersionStatus{Stage: stage},
	}
}

func remote(id, name, external, state string, stage string, artifact bool) Remote {
	r := Remote{Version: Version{ID: id, Name: name, ExternalID: external, State: state,
		CustomProperties: map[string]Value{"auc": Double(0.88), "owner": String("team-a")}}}
	if stage != "" {
		r.Version.CustomProperties[PropStage] = String(stage)
	}
	if artifact {
		r.Artifact = &Artifact{ID: "a" + id, ArtifactType: ModelArtifact, URI: "s3://reg/" + name, ModelFormatName: "sklearn"}
	}
	return r
}

func TestDecide(t *testing.T) {
	locals := []lifecyclev1alpha1.ModelVersion{
		local("churn-v1-0-0", "1.0.0", lifecyclev1alpha1.StageArchived),
		local("churn-v1-0-1", "1.0.1", lifecyclev1alpha1.StageProduction),
		local("churn-v1-0-2", "1.0.2", lifecyclev1alpha1.StageCandidate),
		local("churn-v1-0-3", "1.0.3", lifecyclev1alpha1.StageRejected),
	}
	remotes := []Remote{
		// 1.0.0: the operator's, archived and said so: nothing to do.
		remote("1", "1.0.0", ExternalID("ml", "churn-v1-0-0"), StateArchived, "Archived", true),
		// 1.0.1: promoted since the last sync: written back, the team's
		// properties kept.
		remote("2", "1.0.1", ExternalID("ml", "churn-v1-0-1"), StateLive, "Candidate", true),
		// 1.0.3: rolled back; its artifact never made it (a pass cut short).
		remote("4", "v1.0.3", ExternalID("ml", "churn-v1-0-3"), StateLive, "Canary", false),
		// 2.0.0: registered by a person: imported.
		remote("5", "v2.0.0", "", StateLive, "", true),
		// Names the operator cannot take.
		remote("6", "best-model", "", StateLive, "", true),
		remote("7", "2.1.0", "", StateLive, "", false),
		// Registered from a ModelVersion since deleted: not brought back.
		remote("8", "0.9.0", ExternalID("ml", "churn-v0-9-0"), StateLive, "Retired", true),
	}
	plan := Decide(product, "42", locals, remotes)

	if plan.Matched != 3 {
		t.Errorf("matched %d, want 3", plan.Matched)
	}
	if len(plan.Export) != 1 || plan.Export[0].Version.Name != "1.0.2" {
		t.Fatalf("export %+v, want 1.0.2 only", plan.Export)
	}
	e := plan.Export[0]
	if e.Version.ExternalID != "aipm:ml/churn-v1-0-2" || e.Version.RegisteredModelID != "42" || e.Version.State != StateLive {
		t.Errorf("exported version %+v", e.Version)
	}
	if got := e.Version.CustomProperties; !got["auc"].Equal(Double(0.91)) || !got[PropStage].Equal(String("Candidate")) ||
		!got[PropTrainingKind].Equal(String("TrainJob")) || got["recall"].MetadataType != "" {
		t.Errorf("exported properties %+v (a slice's metric is not the version's)", got)
	}
	if e.Artifact != (Artifact{ArtifactType: ModelArtifact, Name: "churn-v1-0-2", URI: "s3://m/1.0.2", ModelFormatName: "onnx"}) {
		t.Errorf("exported artifact %+v", e.Artifact)
	}
	if len(plan.Artifacts) != 1 || plan.Artifacts[0].VersionID != "4" {
		t.Errorf("missing artifacts %+v, want version 4's", plan.Artifacts)
	}
	patches := map[string]Patch{}
	for _, p := range plan.Patch {
		patches[p.Name] = p
	}
	if len(patches) != 2 {
		t.Fatalf("patches %+v, want 1.0.1 and v1.0.3", plan.Patch)
	}
	if p := patches["1.0.1"]; p.State != StateLive || !p.Props[PropStage].Equal(String("Production")) || !p.Props["owner"].Equal(String("team-a")) {
		t.Errorf("promotion written back as %+v", p)
	}
	if p := patches["v1.0.3"]; p.State != StateArchived || !p.Props[PropStage].Equal(String("Rejected")) {
		t.Errorf("rollback written back as %+v", p)
	}
	if len(plan.Import) != 1 {
		t.Fatalf("import %d, want 2.0.0 only", len(plan.Import))
	}
	mv := plan.Import[0]
	want := lifecyclev1alpha1.ModelVersionSpec{Product: "churn", Version: "2.0.0",
		Artifact: lifecyclev1alpha1.Artifact{URI: "s3://reg/v2.0.0", Format: "SKLearn"},
		Metrics:  []lifecyclev1alpha1.EvaluationMetric{{Name: "auc", Value: "0.88"}},
		Lineage:  &lifecyclev1alpha1.Lineage{Trigger: lifecyclev1alpha1.TriggerExternal}}
	if diff := cmp.Diff(want, mv.Spec); diff != "" {
		t.Errorf("imported spec (-want +got):\n%s", diff)
	}
	if mv.Name != "churn-v2-0-0" || mv.Annotations[AnnotationVersionID] != "5" || mv.Labels[lifecyclev1alpha1.LabelProduct] != "churn" {
		t.Errorf("imported %s %v %v", mv.Name, mv.Annotations, mv.Labels)
	}
	skipped := strings.Join(plan.Skipped, "\n")
	for _, s := range []string{"best-model: the name is no semantic version", "2.1.0: no model artifact with a URI yet",
		"0.9.0: registered from ModelVersion ml/churn-v0-9-0, which no longer exists"} {
		if !strings.Contains(skipped, s) {
			t.Errorf("skipped %q, want %q", skipped, s)
		}
	}

	// A second pass over what the first left finds nothing to do.
	after := append([]Remote(nil), remotes...)
	after[1].Version.CustomProperties = patches["1.0.1"].Props
	after[2].Version.State, after[2].Version.CustomProperties = StateArchived, patches["v1.0.3"].Props
	after[2].Artifact = &plan.Artifacts[0].Artifact
	after = append(after, Remote{Version: e.Version, Artifact: &e.Artifact})
	again := Decide(product, "42", append(locals, *mv), after)
	if len(again.Export)+len(again.Import)+len(again.Patch)+len(again.Artifacts) != 0 {
		t.Errorf("a second pass plans %+v", again)
	}
}
