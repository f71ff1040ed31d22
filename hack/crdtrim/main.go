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

// Command crdtrim removes the field descriptions of embedded Kubernetes types
// (pod and Job templates) from a generated CRD, keeping every description of
// this project's own fields and every validation rule.
//
// The AIProduct CRD embeds a PodTemplateSpec and a JobTemplateSpec. With their
// upstream descriptions it is 1.6 MB, over etcd's default 1.5 MB request
// limit and far over kubectl's 256 KiB last-applied annotation; without them it
// is under 200 KB. `kubectl explain pod.spec` still documents those fields.
//
//	crdtrim FILE PATH...
//
// Each PATH is a dot-separated list of property names from the root of the
// openAPIV3Schema, such as spec.delivery.serving.template.
package main

import (
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: crdtrim FILE PATH...")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "crdtrim:", err)
		os.Exit(1)
	}
}

func run(file string, paths []string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var crd map[string]any
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	versions, _ := dig(crd, "spec", "versions").([]any)
	if len(versions) == 0 {
		return fmt.Errorf("%s: no spec.versions", file)
	}
	for _, v := range versions {
		schema, _ := dig(v, "schema", "openAPIV3Schema").(map[string]any)
		for _, p := range paths {
			node := schema
			for _, name := range strings.Split(p, ".") {
				next, _ := dig(node, "properties", name).(map[string]any)
				if next == nil {
					return fmt.Errorf("%s: no property %q on path %s", file, name, p)
				}
				node = next
			}
			// The field's own description is ours; everything below is upstream's.
			props, _ := node["properties"].(map[string]any)
			for _, child := range props {
				stripDescriptions(child)
			}
		}
	}
	out, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	return os.WriteFile(file, append([]byte("---\n"), out...), 0o644)
}

func dig(node any, keys ...string) any {
	for _, k := range keys {
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = m[k]
	}
	return node
}

func stripDescriptions(node any) {
	switch n := node.(type) {
	case map[string]any:
		delete(n, "description")
		for _, v := range n {
			stripDescriptions(v)
		}
	case []any:
		for _, v := range n {
			stripDescriptions(v)
		}
	}
}
