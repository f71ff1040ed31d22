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
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/argoproj/argo-cd/gitops-engine/v3/pkg/health"
	appv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite config/argocd/argocd-cm-patch.yaml from the Lua scripts")

const (
	customizationsDir = "../../config/argocd/resource_customizations"
	configMapPatch    = "../../config/argocd/argocd-cm-patch.yaml"

	// Files of a resource customization, as Argo CD lays them out.
	healthScript    = "health.lua"
	healthTests     = "health_test.yaml"
	actionsDir      = "actions"
	discoveryScript = "discovery.lua"
	actionTests     = "action_test.yaml"
	actionScript    = "action.lua"
)

// customization is the health check and the actions of one group and kind,
// laid out as in Argo CD's resource_customizations directory.
type customization struct {
	group, kind, dir string
	// actions are the names of actions/<name>/action.lua, sorted.
	actions []string
}

// key is how argocd-cm names the group and kind.
func (c customization) key() string { return c.group + "_" + c.kind }

func (c customization) read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func loadCustomizations(t *testing.T) []customization {
	t.Helper()
	var out []customization
	groups, err := os.ReadDir(customizationsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if !g.IsDir() {
			continue
		}
		kinds, err := os.ReadDir(filepath.Join(customizationsDir, g.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kinds {
			if !k.IsDir() {
				continue
			}
			c := customization{group: g.Name(), kind: k.Name(), dir: filepath.Join(customizationsDir, g.Name(), k.Name())}
			for _, f := range []string{healthScript, healthTests} {
				if _, err := os.Stat(filepath.Join(c.dir, f)); err != nil {
					t.Errorf("%s/%s: %v", c.group, c.kind, err)
				}
			}
			actions, err := os.ReadDir(filepath.Join(c.dir, actionsDir))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			for _, a := range actions {
				if !a.IsDir() || a.Name() == "testdata" {
					continue
				}
				if _, err := os.Stat(filepath.Join(c.dir, actionsDir, a.Name(), actionScript)); err != nil {
					t.Errorf("%s/%s: action %s: %v", c.group, c.kind, a.Name(), err)
					continue
				}
				c.actions = append(c.actions, a.Name())
			}
			if len(c.actions) > 0 {
				for _, f := range []string{discoveryScript, actionTests} {
					if _, err := os.Stat(filepath.Join(c.dir, actionsDir, f)); err != nil {
						t.Errorf("%s/%s: %v", c.group, c.kind, err)
					}
				}
			}
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no resource customizations under %s", customizationsDir)
	}
	return out
}

// healthTestFile is health_test.yaml, in the format of Argo CD's
// util/lua/health_test.go.
type healthTestFile struct {
	Tests []struct {
		HealthStatus health.HealthStatus `json:"healthStatus"`
		InputPath    string              `json:"inputPath"`
	} `json:"tests"`
}

// actionTestFile is actions/action_test.yaml, in the format of Argo CD's
// util/lua/custom_actions_test.go. Paths are relative to actions/.
type actionTestFile struct {
	DiscoveryTests []struct {
		InputPath string                 `json:"inputPath"`
		Result    []appv1.ResourceAction `json:"result"`
	} `json:"discoveryTests"`
	ActionTests []struct {
		Action               string            `json:"action"`
		InputPath            string            `json:"inputPath"`
		ExpectedOutputPath   string            `json:"expectedOutputPath"`
		ExpectedErrorMessage string            `json:"expectedErrorMessage"`
		Parameters           map[string]string `json:"parameters"`
	} `json:"actionTests"`
}

func loadYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestTestdataUsed keeps testdata from holding objects no test reads.
func TestTestdataUsed(t *testing.T) {
	for _, c := range loadCustomizations(t) {
		used := map[string]bool{}
		var health healthTestFile
		loadYAML(t, filepath.Join(c.dir, healthTests), &health)
		for _, tc := range health.Tests {
			used[filepath.Join(c.dir, tc.InputPath)] = true
		}
		used[filepath.Join(c.dir, "testdata", "deleting.yaml")] = true // TestHealthOfADeletingObject
		if len(c.actions) > 0 {
			var actions actionTestFile
			loadYAML(t, filepath.Join(c.dir, actionsDir, actionTests), &actions)
			for _, tc := range actions.DiscoveryTests {
				used[filepath.Join(c.dir, actionsDir, tc.InputPath)] = true
			}
			for _, tc := range actions.ActionTests {
				used[filepath.Join(c.dir, actionsDir, tc.InputPath)] = true
				if tc.ExpectedOutputPath != "" {
					used[filepath.Join(c.dir, actionsDir, tc.ExpectedOutputPath)] = true
				}
			}
		}
		for _, dir := range []string{filepath.Join(c.dir, "testdata"), filepath.Join(c.dir, actionsDir, "testdata")} {
			files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			for _, f := range files {
				if !used[f] {
					t.Errorf("%s is not used by any test", f)
				}
			}
		}
	}
}

// configMap is the part of argocd-cm the patch sets.
type configMap struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Data map[string]string `json:"data"`
}

// actionsValue is the value of a resource.customizations.actions key.
type actionsValue struct {
	DiscoveryLua string `json:"discovery.lua"`
	Definitions  []struct {
		Name      string `json:"name"`
		ActionLua string `json:"action.lua"`
	} `json:"definitions"`
}

func TestConfigMapPatch(t *testing.T) {
	cs := loadCustomizations(t)
	if *update {
		b, err := renderConfigMap(t, cs)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(configMapPatch, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	b, err := os.ReadFile(configMapPatch)
	if err != nil {
		t.Fatal(err)
	}
	var cm configMap
	if err := yaml.Unmarshal(b, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" || cm.Metadata.Name != "argocd-cm" || cm.Metadata.Namespace != "argocd" {
		t.Errorf("patch is %s %s %s/%s, want v1 ConfigMap argocd/argocd-cm",
			cm.APIVersion, cm.Kind, cm.Metadata.Namespace, cm.Metadata.Name)
	}
	const regenerate = "; run cd test/argocd && GOTOOLCHAIN=go1.27.3 go test -run TestConfigMapPatch -update"
	want := map[string]bool{}
	for _, c := range cs {
		key := "resource.customizations.health." + c.key()
		want[key] = true
		if got, ok := cm.Data[key]; !ok {
			t.Errorf("argocd-cm-patch.yaml has no %s%s", key, regenerate)
		} else if got != c.read(t, healthScript) {
			t.Errorf("%s differs from %s/health.lua%s", key, c.dir, regenerate)
		}
		if len(c.actions) == 0 {
			continue
		}
		key = "resource.customizations.actions." + c.key()
		want[key] = true
		raw, ok := cm.Data[key]
		if !ok {
			t.Errorf("argocd-cm-patch.yaml has no %s%s", key, regenerate)
			continue
		}
		var actions actionsValue
		if err := yaml.UnmarshalStrict([]byte(raw), &actions); err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if actions.DiscoveryLua != c.read(t, filepath.Join(actionsDir, discoveryScript)) {
			t.Errorf("%s: discovery.lua differs from %s/actions/discovery.lua%s", key, c.dir, regenerate)
		}
		names := make([]string, 0, len(actions.Definitions))
		for _, d := range actions.Definitions {
			names = append(names, d.Name)
			if !slices.Contains(c.actions, d.Name) {
				continue
			}
			if d.ActionLua != c.read(t, filepath.Join(actionsDir, d.Name, actionScript)) {
				t.Errorf("%s: action %s differs from %s/actions/%s/action.lua%s", key, d.Name, c.dir, d.Name, regenerate)
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, c.actions) {
			t.Errorf("%s defines actions %v, want %v%s", key, names, c.actions, regenerate)
		}
	}
	for key := range cm.Data {
		if !want[key] {
			t.Errorf("argocd-cm-patch.yaml sets %s, which has no script under %s", key, customizationsDir)
		}
	}
}

const configMapHeader = `# Argo CD health checks and resource actions for AIProduct and ModelVersion.
#
# Apply to a running Argo CD:
#   kubectl -n argocd patch configmap argocd-cm --patch-file config/argocd/argocd-cm-patch.yaml
# or add config/argocd as a component of the kustomization that installs
# Argo CD. See docs/argocd.md.
#
# Generated from config/argocd/resource_customizations by
#   cd test/argocd && GOTOOLCHAIN=go1.27.3 go test -run TestConfigMapPatch -update
# Edit the Lua files there, not this file; a test keeps the two equal.
`

// renderConfigMap writes the argocd-cm patch that embeds every script.
func renderConfigMap(t *testing.T, cs []customization) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(configMapHeader)
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n  namespace: argocd\ndata:\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "  resource.customizations.health.%s: |\n", c.key())
		if err := writeBlock(&b, c.read(t, healthScript), 4); err != nil {
			return nil, fmt.Errorf("%s/health.lua: %w", c.dir, err)
		}
		if len(c.actions) == 0 {
			continue
		}
		fmt.Fprintf(&b, "  resource.customizations.actions.%s: |\n", c.key())
		b.WriteString("    discovery.lua: |\n")
		if err := writeBlock(&b, c.read(t, filepath.Join(actionsDir, discoveryScript)), 6); err != nil {
			return nil, fmt.Errorf("%s/actions/discovery.lua: %w", c.dir, err)
		}
		b.WriteString("    definitions:\n")
		for _, a := range c.actions {
			fmt.Fprintf(&b, "    - name: %s\n      action.lua: |\n", a)
			if err := writeBlock(&b, c.read(t, filepath.Join(actionsDir, a, actionScript)), 8); err != nil {
				return nil, fmt.Errorf("%s/actions/%s/action.lua: %w", c.dir, a, err)
			}
		}
	}
	return b.Bytes(), nil
}

// writeBlock writes text as the body of a YAML literal block scalar, which
// reads back exactly only if text ends in a single newline and holds no tab
// or carriage return.
func writeBlock(b *bytes.Buffer, text string, indent int) error {
	switch {
	case !strings.HasSuffix(text, "\n") || strings.HasSuffix(text, "\n\n"):
		return errors.New("must end in exactly one newline")
	case strings.ContainsAny(text, "\t\r"):
		return errors.New("must not contain tabs or carriage returns")
	case strings.HasPrefix(text, " "):
		return errors.New("must not start with a space")
	case strings.Contains(text, " \n"):
		return errors.New("must not hold trailing spaces")
	}
	pad := strings.Repeat(" ", indent)
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line != "" {
			b.WriteString(pad)
		}
		b.WriteString(line + "\n")
	}
	return nil
}
