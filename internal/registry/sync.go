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
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/retrain"
)

// Custom properties the operator owns on a registry version; the rest are
// the team's, and kept.
const (
	PropStage         = "aipm_stage"
	PropProduct       = "aipm_product"
	PropTrigger       = "aipm_trigger"
	PropTrainingJob   = "aipm_training_job"
	PropTrainingKind  = "aipm_training_kind"
	PropParentVersion = "aipm_parent_version"
	PropDatasetURI    = "aipm_dataset_uri"
	propPrefix        = "aipm_"
)

// AnnotationVersionID records, on a ModelVersion imported from the
// registry, the registry's id of the version.
const AnnotationVersionID = "lifecycle.aipm.io/registry-version-id"

// ExternalID is the external id a version the operator registers carries:
// the ModelVersion it came from. A registry version with one is the
// cluster's, and is never imported back once its ModelVersion is gone.
func ExternalID(namespace, name string) string { return "aipm:" + namespace + "/" + name }

// Remote is a registry version and its model artifact, nil when it has
// none yet.
type Remote struct {
	Version  Version
	Artifact *Artifact
}

// Export is a version to register, with its artifact.
type Export struct {
	Version  Version
	Artifact Artifact
}

// Patch sets a registry version's state and properties.
type Patch struct {
	ID, Name string
	State    string
	Props    map[string]Value
}

// MissingArtifact is a version the operator registered whose artifact is
// not there: the pass that created it was cut short.
type MissingArtifact struct {
	VersionID string
	Artifact  Artifact
}

// Plan is what one sync does.
type Plan struct {
	// Import are the registry's versions the cluster lacks, as the
	// ModelVersions to create.
	Import []*lifecyclev1alpha1.ModelVersion
	// Export are the cluster's versions the registry lacks.
	Export []Export
	// Artifacts are artifacts to add to versions that lack them.
	Artifacts []MissingArtifact
	// Patch are the stage write-backs.
	Patch []Patch
	// Skipped says which registry versions cannot be taken, and why.
	Skipped []string
	// Matched counts the versions both sides hold.
	Matched int
}

// semverOf is a registry version name as a semantic version: "1.2.0" or
// "v1.2.0"; false for any other name.
func semverOf(name string) (string, bool) {
	s := strings.TrimPrefix(strings.TrimPrefix(name, "v"), "V")
	v, err := version.ParseSemantic(s)
	if err != nil {
		return "", false
	}
	return v.String(), true
}

// Decide plans one sync of a product's versions (locals, the product's
// ModelVersions) with its registered model's versions (remotes).
func Decide(p *lifecyclev1alpha1.AIProduct, registeredModelID string, locals []lifecyclev1alpha1.ModelVersion, remotes []Remote) Plan {
	var plan Plan
	byVersion := map[string]*Remote{}
	for i := range remotes {
		r := &remotes[i]
		if v, ok := semverOf(r.Version.Name); ok {
			if _, dup := byVersion[v]; !dup {
				byVersion[v] = r
			}
		}
	}
	sort.Slice(locals, func(i, j int) bool { return locals[i].Name < locals[j].Name })
	seen := map[string]bool{}
	for i := range locals {
		mv := &locals[i]
		v, ok := semverOf(mv.Spec.Version)
		if !ok || seen[v] {
			continue
		}
		seen[v] = true
		r := byVersion[v]
		if r == nil {
			plan.Export = append(plan.Export, Export{Version: exported(mv, registeredModelID), Artifact: artifactOf(mv)})
			continue
		}
		plan.Matched++
		if r.Artifact == nil && r.Version.ExternalID == ExternalID(mv.Namespace, mv.Name) {
			plan.Artifacts = append(plan.Artifacts, MissingArtifact{VersionID: r.Version.ID, Artifact: artifactOf(mv)})
		}
		if patch, ok := stagePatch(mv, r.Version); ok {
			plan.Patch = append(plan.Patch, patch)
		}
	}
	for i := range remotes {
		r := &remotes[i]
		v, ok := semverOf(r.Version.Name)
		switch {
		case !ok:
			plan.Skipped = append(plan.Skipped, fmt.Sprintf("%s: the name is no semantic version", r.Version.Name))
			continue
		case seen[v] || byVersion[v] != r:
			continue
		case strings.HasPrefix(r.Version.ExternalID, "aipm:"):
			// Registered from a ModelVersion that has since been deleted:
			// the cluster let it go, and a sync does not bring it back.
			plan.Skipped = append(plan.Skipped, fmt.Sprintf("%s: registered from ModelVersion %s, which no longer exists",
				r.Version.Name, strings.TrimPrefix(r.Version.ExternalID, "aipm:")))
			continue
		case r.Artifact == nil || r.Artifact.URI == "":
			plan.Skipped = append(plan.Skipped, fmt.Sprintf("%s: no model artifact with a URI yet", r.Version.Name))
			continue
		}
		seen[v] = true
		plan.Import = append(plan.Import, imported(p, v, r))
	}
	return plan
}

// desiredState is the registry state of a stage: ARCHIVED once a version
// is out of the running (rolled back, rejected, retired), LIVE otherwise.
func desiredState(stage lifecyclev1alpha1.Stage) string {
	if stage == lifecyclev1alpha1.StageRejected || stage == lifecyclev1alpha1.StageArchived {
		return StateArchived
	}
	return StateLive
}

// stagePatch is the write-back of a version's stage, false when the
// registry says it already.
func stagePatch(mv *lifecyclev1alpha1.ModelVersion, remote Version) (Patch, bool) {
	stage := mv.Status.Stage
	if stage == "" {
		return Patch{}, false
	}
	state := desiredState(stage)
	cur, has := remote.CustomProperties[PropStage]
	if remote.State == state && has && cur.Equal(String(string(stage))) {
		return Patch{}, false
	}
	props := make(map[string]Value, len(remote.CustomProperties)+1)
	for k, v := range remote.CustomProperties {
		props[k] = v
	}
	props[PropStage] = String(string(stage))
	return Patch{ID: remote.ID, Name: remote.Name, State: state, Props: props}, true
}

// exported is the registry version of a ModelVersion.
func exported(mv *lifecyclev1alpha1.ModelVersion, registeredModelID string) Version {
	props := map[string]Value{PropProduct: String(string(mv.Spec.Product))}
	for _, m := range mv.Spec.Metrics {
		if len(m.Slice) > 0 {
			continue
		}
		if f, err := strconv.ParseFloat(string(m.Value), 64); err == nil {
			props[m.Name] = Double(f)
		}
	}
	state := StateLive
	if s := mv.Status.Stage; s != "" {
		props[PropStage] = String(string(s))
		state = desiredState(s)
	}
	if l := mv.Spec.Lineage; l != nil {
		for k, v := range map[string]string{PropTrigger: string(l.Trigger), PropTrainingJob: l.TrainingJob,
			PropTrainingKind: l.TrainingKind, PropParentVersion: l.ParentVersion} {
			if v != "" {
				props[k] = String(v)
			}
		}
		if l.Dataset != nil && l.Dataset.URI != "" {
			props[PropDatasetURI] = String(l.Dataset.URI)
		}
	}
	return Version{
		Name:              mv.Spec.Version,
		RegisteredModelID: registeredModelID,
		ExternalID:        ExternalID(mv.Namespace, mv.Name),
		Description:       "Registered by aipm-operator from ModelVersion " + mv.Namespace + "/" + mv.Name,
		Author:            "aipm-operator",
		State:             state,
		CustomProperties:  props,
	}
}

func artifactOf(mv *lifecyclev1alpha1.ModelVersion) Artifact {
	return Artifact{ArtifactType: ModelArtifact, Name: mv.Name, URI: mv.Spec.Artifact.URI,
		ModelFormatName: strings.ToLower(string(mv.Spec.Artifact.Format))}
}

// formats are the API's model formats by their lower-case names, as
// registries and KServe spell them.
var formats = func() map[string]lifecyclev1alpha1.ModelFormat {
	m := map[string]lifecyclev1alpha1.ModelFormat{}
	for _, f := range lifecyclev1alpha1.ModelFormats {
		m[strings.ToLower(string(f))] = f
	}
	return m
}()

// maxMetrics is the most metrics a ModelVersion holds.
const maxMetrics = 64

// imported is the ModelVersion of a registry version: its artifact, its
// numeric custom properties as metrics, lineage External.
func imported(p *lifecyclev1alpha1.AIProduct, semver string, r *Remote) *lifecyclev1alpha1.ModelVersion {
	var metrics []lifecyclev1alpha1.EvaluationMetric
	names := make([]string, 0, len(r.Version.CustomProperties))
	for k := range r.Version.CustomProperties {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := r.Version.CustomProperties[k]
		if strings.HasPrefix(k, propPrefix) || !retrain.MetricName(k) || len(metrics) == maxMetrics {
			continue
		}
		var f float64
		switch {
		case v.DoubleValue != nil:
			f = *v.DoubleValue
		case v.IntValue != nil:
			n, err := strconv.ParseInt(*v.IntValue, 10, 64)
			if err != nil {
				continue
			}
			f = float64(n)
		default:
			continue
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		metrics = append(metrics, lifecyclev1alpha1.EvaluationMetric{Name: k, Value: lifecyclev1alpha1.Decimal(strconv.FormatFloat(f, 'f', -1, 64))})
	}
	return &lifecyclev1alpha1.ModelVersion{
		ObjectMeta: metav1.ObjectMeta{
			Name:        retrain.VersionName(p.Name, semver),
			Namespace:   p.Namespace,
			Labels:      map[string]string{lifecyclev1alpha1.LabelProduct: p.Name},
			Annotations: map[string]string{AnnotationVersionID: r.Version.ID},
		},
		Spec: lifecyclev1alpha1.ModelVersionSpec{
			Product:  lifecyclev1alpha1.LocalObjectName(p.Name),
			Version:  semver,
			Artifact: lifecyclev1alpha1.Artifact{URI: r.Artifact.URI, Format: formats[strings.ToLower(r.Artifact.ModelFormatName)]},
			Metrics:  metrics,
			Lineage:  &lifecyclev1alpha1.Lineage{Trigger: lifecyclev1alpha1.TriggerExternal},
		},
	}
}

// Result is what a sync did in the registry, and what the cluster is to
// create.
type Result struct {
	RegisteredModelID string
	Plan              Plan
}

// Sync reads the registry, registers there the versions it lacks, adds
// missing artifacts and writes stages back, and returns the plan, whose
// Import the caller creates in the cluster. An error leaves the rest of
// the pass to the next sync; nothing it did needs undoing.
func Sync(ctx context.Context, c *Client, p *lifecyclev1alpha1.AIProduct, name string, locals []lifecyclev1alpha1.ModelVersion) (*Result, error) {
	rm, err := c.EnsureRegisteredModel(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("registered model %s: %w", name, err)
	}
	versions, err := c.Versions(ctx, rm.ID)
	if err != nil {
		return nil, fmt.Errorf("listing the versions of registered model %s: %w", name, err)
	}
	remotes := make([]Remote, len(versions))
	for i, v := range versions {
		remotes[i].Version = v
		arts, err := c.Artifacts(ctx, v.ID)
		if err != nil {
			return nil, fmt.Errorf("listing the artifacts of version %s: %w", v.Name, err)
		}
		if len(arts) > 0 {
			remotes[i].Artifact = &arts[0]
		}
	}
	plan := Decide(p, rm.ID, locals, remotes)
	for _, e := range plan.Export {
		v, err := c.CreateVersion(ctx, e.Version)
		if errors.Is(err, ErrConflict) {
			// Registered by a pass whose answer was lost, or by someone
			// under the same name: the version is the registry's now.
			v, err = c.FindVersion(ctx, rm.ID, e.Version.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("registering version %s: %w", e.Version.Name, err)
		}
		if v.ExternalID != e.Version.ExternalID {
			// Someone else's version of that name: matched from now on,
			// its artifacts left as they are.
			continue
		}
		if err := c.CreateArtifact(ctx, v.ID, e.Artifact); err != nil {
			return nil, fmt.Errorf("registering the artifact of version %s: %w", e.Version.Name, err)
		}
	}
	for _, a := range plan.Artifacts {
		if err := c.CreateArtifact(ctx, a.VersionID, a.Artifact); err != nil {
			return nil, fmt.Errorf("registering artifact %s: %w", a.Artifact.Name, err)
		}
	}
	for _, pt := range plan.Patch {
		if err := c.PatchVersion(ctx, pt.ID, pt.State, pt.Props); err != nil {
			return nil, fmt.Errorf("writing the stage of version %s: %w", pt.Name, err)
		}
	}
	return &Result{RegisteredModelID: rm.ID, Plan: plan}, nil
}
