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
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	lua "github.com/yuin/gopher-lua"
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

	// scriptTimeout is the time Argo CD gives a script.
	scriptTimeout = time.Second
	// requestTimeLayout is what os.date("!%Y-%m-%dT%H:%M:%SZ") returns.
	requestTimeLayout = "2006-01-02T15:04:05Z"
)

// healthStatuses are the statuses Argo CD accepts from a health script.
var healthStatuses = []string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

// discoveryFields are the fields Argo CD reads from a discovered action.
var discoveryFields = []string{"disabled", "displayName", "iconClass"}

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

// healthTestFile is health_test.yaml, in Argo CD's format.
type healthTestFile struct {
	Tests []struct {
		HealthStatus struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"healthStatus"`
		InputPath string `json:"inputPath"`
	} `json:"tests"`
}

// actionTestFile is actions/action_test.yaml. Paths are relative to actions/.
type actionTestFile struct {
	DiscoveryTests []struct {
		InputPath string `json:"inputPath"`
		Result    []struct {
			Name     string `json:"name"`
			Disabled *bool  `json:"disabled"`
		} `json:"result"`
	} `json:"discoveryTests"`
	ActionTests []struct {
		Action             string `json:"action"`
		InputPath          string `json:"inputPath"`
		ExpectedAnnotation string `json:"expectedAnnotation"`
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

// loadObject reads a Kubernetes object as Argo CD hands it to a script:
// JSON values, with numbers as float64.
func loadObject(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if obj == nil {
		t.Fatalf("%s: no object", path)
	}
	return obj
}

// safeOs returns the os functions Argo CD leaves to a script: date and
// time, without the ones that reach the host (execute, remove, getenv...).
var safeOs = sync.OnceValue(func() map[string]lua.LGFunction {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	L.Push(L.NewFunction(lua.OpenOs))
	L.Call(0, 1)
	full := L.Get(-1).(*lua.LTable)
	funcs := map[string]lua.LGFunction{}
	for _, name := range []string{"date", "time"} {
		fn, ok := full.RawGetString(name).(*lua.LFunction)
		if !ok || !fn.IsG {
			panic("gopher-lua's os library has no Go function " + name)
		}
		funcs[name] = fn.GFunction
	}
	return funcs
})

// newSandbox returns a Lua state with what Argo CD opens for a health or
// action script: the package, base and table libraries, and an os library
// holding only date and time that a script must require. Argo CD does not
// open string, math, io or debug; a script that needs them fails here as
// it would in Argo CD.
func newSandbox() *lua.LState {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	// Only require("os") reaches it: Argo CD runs argocd-cm scripts
	// without open libraries, so there is no global os, and a script that
	// uses one fails in Argo CD with "attempt to index a non-table object".
	L.PreloadModule(lua.OsLibName, func(L *lua.LState) int {
		L.Push(L.SetFuncs(L.NewTable(), safeOs()))
		return 1
	})
	return L
}

// runScript runs script with obj as the global obj, as Argo CD does, and
// returns what it returns, converted to Go.
func runScript(script string, obj map[string]any) (any, error) {
	L := newSandbox()
	defer L.Close()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	L.SetContext(ctx)
	value, err := toLua(L, obj)
	if err != nil {
		return nil, err
	}
	L.SetGlobal("obj", value)
	if err := L.DoString(script); err != nil {
		return nil, err
	}
	if L.GetTop() == 0 {
		return nil, errors.New("the script returned nothing")
	}
	return fromLua(L.Get(-1))
}

// toLua converts a JSON value to Lua: objects and arrays become tables,
// arrays indexed from 1.
func toLua(ls *lua.LState, v any) (lua.LValue, error) {
	switch v := v.(type) {
	case nil:
		return lua.LNil, nil
	case bool:
		return lua.LBool(v), nil
	case string:
		return lua.LString(v), nil
	case float64:
		return lua.LNumber(v), nil
	case int64:
		return lua.LNumber(v), nil
	case int:
		return lua.LNumber(v), nil
	case map[string]any:
		tb := ls.CreateTable(0, len(v))
		for k, e := range v {
			lv, err := toLua(ls, e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			tb.RawSetString(k, lv)
		}
		return tb, nil
	case []any:
		tb := ls.CreateTable(len(v), 0)
		for i, e := range v {
			lv, err := toLua(ls, e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			tb.RawSetInt(i+1, lv)
		}
		return tb, nil
	}
	return nil, fmt.Errorf("cannot convert %T to Lua", v)
}

// fromLua converts a Lua value back to JSON: a table whose keys are 1..n is
// an array, a table whose keys are strings an object. An empty table is an
// empty object (see normalize).
func fromLua(v lua.LValue) (any, error) {
	switch v := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(v), nil
	case lua.LString:
		return string(v), nil
	case lua.LNumber:
		return float64(v), nil
	case *lua.LTable:
		byName := map[string]any{}
		byIndex := map[int]any{}
		var err error
		v.ForEach(func(k, e lua.LValue) {
			if err != nil {
				return
			}
			value, cerr := fromLua(e)
			if cerr != nil {
				err = fmt.Errorf("%s: %w", k.String(), cerr)
				return
			}
			switch k := k.(type) {
			case lua.LString:
				byName[string(k)] = value
			case lua.LNumber:
				i := int(k)
				if float64(i) != float64(k) || i < 1 {
					err = fmt.Errorf("table key %v is not an array index", k)
					return
				}
				byIndex[i] = value
			default:
				err = fmt.Errorf("table key of type %s", k.Type())
			}
		})
		switch {
		case err != nil:
			return nil, err
		case len(byIndex) > 0 && len(byName) > 0:
			return nil, errors.New("table mixes array indexes and names")
		case len(byIndex) > 0:
			list := make([]any, len(byIndex))
			for i := range list {
				e, ok := byIndex[i+1]
				if !ok {
					return nil, fmt.Errorf("array has no element %d", i+1)
				}
				list[i] = e
			}
			return list, nil
		}
		return byName, nil
	}
	return nil, fmt.Errorf("cannot convert a Lua %s to JSON", v.Type())
}

// normalize makes empty arrays empty objects, since Lua cannot tell them
// apart.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	case []any:
		if len(v) == 0 {
			return map[string]any{}
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

func TestSandbox(t *testing.T) {
	got, err := runScript(`
		local global = type(os)
		local os = require("os")
		return {
			string = type(string), math = type(math), io = type(io), debug = type(debug),
			execute = type(os.execute), getenv = type(os.getenv),
			date = type(os.date), time = type(os.time), global = global,
			table = type(table.insert), name = obj.metadata.name,
		}`, map[string]any{"metadata": map[string]any{"name": "fraud-detector"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"string": "nil", "math": "nil", "io": "nil", "debug": "nil",
		"execute": "nil", "getenv": "nil",
		"date": "function", "time": "function", "global": "nil",
		"table": "function", "name": "fraud-detector",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sandbox (-want +got):\n%s", diff)
	}

	start := time.Now()
	_, err = runScript("while true do end", map[string]any{})
	if err == nil {
		t.Fatal("an endless script returned no error")
	}
	if elapsed := time.Since(start); elapsed > 3*scriptTimeout {
		t.Errorf("an endless script ran %s, want about %s", elapsed, scriptTimeout)
	}
}

func TestConvertRoundTrip(t *testing.T) {
	in := map[string]any{
		"s": "x", "n": float64(7), "f": 0.25, "b": false, "empty": map[string]any{},
		"list": []any{"a", map[string]any{"k": float64(1)}, []any{true}}, "none": []any{},
	}
	L := newSandbox()
	defer L.Close()
	lv, err := toLua(L, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := fromLua(lv)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(normalize(in), out); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
}

func TestHealth(t *testing.T) {
	for _, c := range loadCustomizations(t) {
		t.Run(c.group+"/"+c.kind, func(t *testing.T) {
			script := c.read(t, healthScript)
			var tests healthTestFile
			loadYAML(t, filepath.Join(c.dir, healthTests), &tests)
			if len(tests.Tests) == 0 {
				t.Fatal("health_test.yaml has no tests")
			}
			for _, tc := range tests.Tests {
				t.Run(caseName(tc.InputPath), func(t *testing.T) {
					want := tc.HealthStatus
					if !slices.Contains(healthStatuses, want.Status) {
						t.Fatalf("health_test.yaml expects status %q, which Argo CD does not know", want.Status)
					}
					got, err := runScript(script, loadObject(t, filepath.Join(c.dir, tc.InputPath)))
					if err != nil {
						t.Fatalf("health.lua: %v", err)
					}
					hs, ok := got.(map[string]any)
					if !ok {
						t.Fatalf("health.lua returned %T, want a table", got)
					}
					status, _ := hs["status"].(string)
					message, ok := hs["message"].(string)
					if !ok && hs["message"] != nil {
						t.Errorf("message is %T, want a string", hs["message"])
					}
					if !slices.Contains(healthStatuses, status) {
						t.Errorf("status %q is not an Argo CD health status", hs["status"])
					}
					if status != want.Status || message != want.Message {
						t.Errorf("%s: health is %s %q, want %s %q", tc.InputPath, status, message, want.Status, want.Message)
					}
				})
			}
		})
	}
}

func TestActionDiscovery(t *testing.T) {
	for _, c := range loadCustomizations(t) {
		if len(c.actions) == 0 {
			continue
		}
		t.Run(c.group+"/"+c.kind, func(t *testing.T) {
			script := c.read(t, filepath.Join(actionsDir, discoveryScript))
			var tests actionTestFile
			loadYAML(t, filepath.Join(c.dir, actionsDir, actionTests), &tests)
			if len(tests.DiscoveryTests) == 0 {
				t.Fatal("action_test.yaml has no discoveryTests")
			}
			seen := map[string]map[bool]bool{}
			for _, tc := range tests.DiscoveryTests {
				t.Run(caseName(tc.InputPath), func(t *testing.T) {
					want := map[string]bool{}
					for _, r := range tc.Result {
						if r.Disabled == nil {
							t.Fatalf("action_test.yaml: result %s does not say disabled", r.Name)
						}
						want[r.Name] = *r.Disabled
					}
					if names := slices.Sorted(maps.Keys(want)); !slices.Equal(names, c.actions) {
						t.Fatalf("action_test.yaml lists actions %v, want every action: %v", names, c.actions)
					}

					got, err := runScript(script, loadObject(t, filepath.Join(c.dir, actionsDir, tc.InputPath)))
					if err != nil {
						t.Fatalf("discovery.lua: %v", err)
					}
					discovered, ok := got.(map[string]any)
					if !ok {
						t.Fatalf("discovery.lua returned %T, want a table of actions", got)
					}
					if names := slices.Sorted(maps.Keys(discovered)); !slices.Equal(names, c.actions) {
						t.Errorf("discovery.lua returned actions %v, want the actions with an action.lua: %v", names, c.actions)
					}
					for name, entry := range discovered {
						fields, ok := entry.(map[string]any)
						if !ok {
							t.Errorf("action %s is %T, want a table", name, entry)
							continue
						}
						for field := range fields {
							if !slices.Contains(discoveryFields, field) {
								t.Errorf("action %s has field %q; Argo CD reads %v", name, field, discoveryFields)
							}
						}
						disabled, ok := fields["disabled"].(bool)
						if !ok {
							t.Errorf("action %s: disabled is %T, want a boolean", name, fields["disabled"])
						}
						if wantDisabled, listed := want[name]; listed && disabled != wantDisabled {
							t.Errorf("action %s: disabled is %t, want %t", name, disabled, wantDisabled)
						}
						if seen[name] == nil {
							seen[name] = map[bool]bool{}
						}
						seen[name][disabled] = true
					}
				})
			}
			for _, name := range c.actions {
				if !seen[name][true] || !seen[name][false] {
					t.Errorf("action %s: the discovery tests should show it both enabled and disabled", name)
				}
			}
		})
	}
}

func TestActions(t *testing.T) {
	for _, c := range loadCustomizations(t) {
		if len(c.actions) == 0 {
			continue
		}
		t.Run(c.group+"/"+c.kind, func(t *testing.T) {
			discovery := c.read(t, filepath.Join(actionsDir, discoveryScript))
			var tests actionTestFile
			loadYAML(t, filepath.Join(c.dir, actionsDir, actionTests), &tests)
			tested := map[string]bool{}
			for _, tc := range tests.ActionTests {
				name := tc.Action + "/" + caseName(tc.InputPath)
				t.Run(name, func(t *testing.T) {
					if !slices.Contains(c.actions, tc.Action) {
						t.Fatalf("action_test.yaml tests action %q, which has no action.lua", tc.Action)
					}
					if tc.ExpectedAnnotation == "" {
						t.Fatal("action_test.yaml: expectedAnnotation is empty")
					}
					tested[tc.Action] = true
					path := filepath.Join(c.dir, actionsDir, tc.InputPath)
					obj := loadObject(t, path)
					if _, there := annotations(obj)[tc.ExpectedAnnotation]; there {
						t.Fatalf("%s already has annotation %s", tc.InputPath, tc.ExpectedAnnotation)
					}

					// The action must be one Argo CD offers for this object.
					got, err := runScript(discovery, obj)
					if err != nil {
						t.Fatalf("discovery.lua: %v", err)
					}
					discovered, _ := got.(map[string]any)
					entry, _ := discovered[tc.Action].(map[string]any)
					if entry == nil || entry["disabled"] != false {
						t.Errorf("discovery.lua does not enable %s for %s", tc.Action, tc.InputPath)
					}

					before := time.Now().UTC().Truncate(time.Second)
					got, err = runScript(c.read(t, filepath.Join(actionsDir, tc.Action, actionScript)), obj)
					after := time.Now().UTC()
					if err != nil {
						t.Fatalf("action.lua: %v", err)
					}
					out, ok := got.(map[string]any)
					if !ok {
						t.Fatalf("action.lua returned %T, want the object", got)
					}
					value, ok := annotations(out)[tc.ExpectedAnnotation].(string)
					if !ok {
						t.Fatalf("the returned object has no annotation %s", tc.ExpectedAnnotation)
					}
					at, err := time.Parse(requestTimeLayout, value)
					if err != nil {
						t.Errorf("annotation %s is %q, want a UTC time as %s: %v", tc.ExpectedAnnotation, value, requestTimeLayout, err)
					} else if at.Before(before) || at.After(after) {
						t.Errorf("annotation %s is %s, want the time of the action, between %s and %s",
							tc.ExpectedAnnotation, value, before.Format(time.RFC3339), after.Format(time.RFC3339))
					}

					// Nothing but the annotation may change.
					want := loadObject(t, path)
					metadata := want["metadata"].(map[string]any)
					if metadata["annotations"] == nil {
						metadata["annotations"] = map[string]any{}
					}
					metadata["annotations"].(map[string]any)[tc.ExpectedAnnotation] = value
					if diff := cmp.Diff(normalize(want), normalize(out)); diff != "" {
						t.Errorf("action.lua changed more than annotation %s (-want +got):\n%s", tc.ExpectedAnnotation, diff)
					}
				})
			}
			for _, name := range c.actions {
				if !tested[name] {
					t.Errorf("action %s has no actionTests in action_test.yaml", name)
				}
			}
		})
	}
}

// caseName names a subtest after its input file.
func caseName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

func annotations(obj map[string]any) map[string]any {
	metadata, _ := obj["metadata"].(map[string]any)
	a, _ := metadata["annotations"].(map[string]any)
	return a
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
		if len(c.actions) > 0 {
			var actions actionTestFile
			loadYAML(t, filepath.Join(c.dir, actionsDir, actionTests), &actions)
			for _, tc := range actions.DiscoveryTests {
				used[filepath.Join(c.dir, actionsDir, tc.InputPath)] = true
			}
			for _, tc := range actions.ActionTests {
				used[filepath.Join(c.dir, actionsDir, tc.InputPath)] = true
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
	const regenerate = "; run go test ./internal/argocd -run TestConfigMapPatch -update"
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
#   go test ./internal/argocd -run TestConfigMapPatch -update
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
