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

// Package argocd tests the Argo CD health checks and resource actions in
// config/argocd/resource_customizations. It holds no code of its own: its
// tests run every health.lua, discovery.lua and action.lua in gopher-lua,
// the interpreter Argo CD embeds, with the libraries Argo CD opens for a
// script, over the cases in health_test.yaml and actions/action_test.yaml,
// and check that config/argocd/argocd-cm-patch.yaml embeds exactly those
// scripts.
//
// After changing a script, regenerate the ConfigMap patch with
//
//	go test ./internal/argocd -run TestConfigMapPatch -update
package argocd
