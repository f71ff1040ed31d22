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

package argocd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-cd/gitops-engine/v3/pkg/health"
	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	appv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	argolua "github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"
)

// argocdNamespace is where the test's Argo CD reads its settings.
const argocdNamespace = "argocd"

// requestTime is what an action's request annotation holds in an expected
// output: the action writes the current time, which the test checks is
// now and then replaces with this.
const requestTime = "0001-01-01T00:00:00Z"

// requestPrefix marks the annotations the AIProduct actions set.
const requestPrefix = "lifecycle.aipm.io/"

// overrides reads config/argocd/argocd-cm-patch.yaml the way an Argo CD
// component does: the patched argocd-cm through Argo CD's settings manager,
// which turns its resource.customizations.* keys into resource overrides.
func overrides(t *testing.T) map[string]appv1.ResourceOverride {
	t.Helper()
	b, err := os.ReadFile(configMapPatch)
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(b, &cm); err != nil {
		t.Fatal(err)
	}
	// The patch merges into Argo CD's own argocd-cm, which carries this
	// label; the settings manager reads only ConfigMaps that do.
	cm.Labels = map[string]string{"app.kubernetes.io/part-of": "argocd"}
	cm.Namespace = argocdNamespace
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	mgr := settings.NewSettingsManager(ctx, fake.NewClientset(&cm), argocdNamespace)
	got, err := mgr.GetResourceOverrides()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// loadObject reads a test object as Argo CD's tests do.
func loadObject(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &obj.Object); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if obj.Object == nil {
		t.Fatalf("%s: no object", path)
	}
	return obj
}

// asJSON is v as JSON decodes it, so that objects read from YAML and
// objects from Lua, whose integers differ in Go type, compare by value.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every case of every health_test.yaml, through both of Argo CD's paths:
// the application controller's (gitops-engine's GetResourceHealth with the
// overrides argocd-cm gives) and the script run alone, as Argo CD's own
// resource_customizations tests run it.
func TestHealth(t *testing.T) {
	ov := overrides(t)
	for _, c := range loadCustomizations(t) {
		var file healthTestFile
		loadYAML(t, filepath.Join(c.dir, healthTests), &file)
		if len(file.Tests) == 0 {
			t.Errorf("%s/%s: no health tests", c.group, c.kind)
		}
		for _, tc := range file.Tests {
			t.Run(c.kind+"/"+strings.TrimSuffix(filepath.Base(tc.InputPath), ".yaml"), func(t *testing.T) {
				obj := loadObject(t, filepath.Join(c.dir, tc.InputPath))
				got, err := health.GetResourceHealth(obj, argolua.ResourceHealthOverrides(ov))
				if err != nil {
					t.Fatalf("application controller: %v", err)
				}
				if got == nil {
					t.Fatal("application controller: no health (argocd-cm has no script for the kind)")
				}
				if diff := cmp.Diff(tc.HealthStatus, *got); diff != "" {
					t.Errorf("application controller (-want +got):\n%s", diff)
				}

				vm := argolua.VM{ResourceOverrides: ov}
				script, openLibs, err := vm.GetHealthScript(obj)
				if err != nil || script != c.read(t, healthScript) || openLibs {
					t.Fatalf("script for %s: %v, open libraries %t; want health.lua without them", obj.GroupVersionKind(), err, openLibs)
				}
				alone, err := vm.ExecuteHealthLua(obj, script)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.HealthStatus, *alone); diff != "" {
					t.Errorf("script alone (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// A deleting object never reaches the script: the application controller
// calls it Progressing, "Pending deletion", whatever its status says.
func TestHealthOfADeletingObject(t *testing.T) {
	ov := overrides(t)
	for _, c := range loadCustomizations(t) {
		t.Run(c.kind, func(t *testing.T) {
			obj := loadObject(t, filepath.Join(c.dir, "testdata", "deleting.yaml"))
			if obj.GetDeletionTimestamp() == nil {
				t.Fatal("testdata/deleting.yaml has no deletionTimestamp")
			}
			got, err := health.GetResourceHealth(obj, argolua.ResourceHealthOverrides(ov))
			if err != nil {
				t.Fatal(err)
			}
			// Argo CD names the finalizers that hold it (foregroundDeletion
			// in testdata, as kubectl delete --cascade=foreground sets).
			want := health.HealthStatus{Status: health.HealthStatusProgressing, Message: "Pending deletion; blocked by finalizers: foregroundDeletion"}
			if diff := cmp.Diff(want, *got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Every discovery case: exactly the actions listed, with their names,
// icons and whether they are enabled, as the Argo CD UI gets them.
func TestActionDiscovery(t *testing.T) {
	vm := argolua.VM{ResourceOverrides: overrides(t)}
	for _, c := range loadCustomizations(t) {
		if len(c.actions) == 0 {
			continue
		}
		var file actionTestFile
		loadYAML(t, filepath.Join(c.dir, actionsDir, actionTests), &file)
		for _, tc := range file.DiscoveryTests {
			t.Run(c.kind+"/"+strings.TrimSuffix(filepath.Base(tc.InputPath), ".yaml"), func(t *testing.T) {
				obj := loadObject(t, filepath.Join(c.dir, actionsDir, tc.InputPath))
				scripts, err := vm.GetResourceActionDiscovery(obj)
				if err != nil {
					t.Fatal(err)
				}
				if len(scripts) != 1 || scripts[0] != c.read(t, filepath.Join(actionsDir, discoveryScript)) {
					t.Fatalf("discovery scripts %q: want discovery.lua from argocd-cm alone", scripts)
				}
				got, err := vm.ExecuteResourceActionDiscovery(obj, scripts)
				if err != nil {
					t.Fatal(err)
				}
				byName := func(a, b appv1.ResourceAction) int { return strings.Compare(a.Name, b.Name) }
				want := slices.Clone(tc.Result)
				slices.SortFunc(want, byName)
				slices.SortFunc(got, byName)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}

// Every action case: the action, run as Argo CD runs an argocd-cm action
// (no open libraries), patches the object into the expected output, or
// fails with the expected message. The request annotation it sets holds
// the current time.
func TestActions(t *testing.T) {
	vm := argolua.VM{ResourceOverrides: overrides(t)}
	for _, c := range loadCustomizations(t) {
		if len(c.actions) == 0 {
			continue
		}
		var file actionTestFile
		loadYAML(t, filepath.Join(c.dir, actionsDir, actionTests), &file)
		tested := map[string]bool{}
		for _, tc := range file.ActionTests {
			tested[tc.Action] = true
			t.Run(c.kind+"/"+tc.Action+"/"+strings.TrimSuffix(filepath.Base(tc.InputPath), ".yaml"), func(t *testing.T) {
				obj := loadObject(t, filepath.Join(c.dir, actionsDir, tc.InputPath))
				action, err := vm.GetResourceAction(obj, tc.Action)
				if err != nil {
					t.Fatal(err)
				}
				var params []*applicationpkg.ResourceActionParameters
				for k, v := range tc.Parameters {
					params = append(params, &applicationpkg.ResourceActionParameters{Name: &k, Value: &v})
				}
				start := time.Now().UTC().Truncate(time.Second)
				impacted, err := vm.ExecuteResourceAction(obj, action.ActionLua, params)
				if tc.ExpectedErrorMessage != "" {
					if err == nil || err.Error() != tc.ExpectedErrorMessage {
						t.Fatalf("error %v, want %q", err, tc.ExpectedErrorMessage)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(impacted) != 1 || impacted[0].K8SOperation != argolua.PatchOperation {
					t.Fatalf("impacted %+v: want the object itself, patched", impacted)
				}
				got := impacted[0].UnstructuredObj
				requests := 0
				annotations := got.GetAnnotations()
				for k, v := range annotations {
					if !strings.HasPrefix(k, requestPrefix) || obj.GetAnnotations()[k] == v {
						continue
					}
					requests++
					at, err := time.Parse(time.RFC3339, v)
					if err != nil || at.Before(start) || at.After(time.Now().Add(time.Second)) {
						t.Errorf("annotation %s=%q: want the time of the request in UTC (%v)", k, v, err)
					}
					annotations[k] = requestTime
				}
				if requests != 1 {
					t.Errorf("action set %d request annotations, want one", requests)
				}
				got.SetAnnotations(annotations)
				want := loadObject(t, filepath.Join(c.dir, actionsDir, tc.ExpectedOutputPath))
				if diff := cmp.Diff(asJSON(t, want.Object), asJSON(t, got.Object)); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
			})
		}
		for _, a := range c.actions {
			if !tested[a] {
				t.Errorf("%s/%s: action %s has no actionTests case", c.group, c.kind, a)
			}
		}
	}
}
