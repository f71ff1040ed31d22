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

// Package dashboards holds no code: its test checks the Grafana dashboards
// in config/grafana. It loads every dashboard, parses every panel query with
// the PromQL parser, and checks that each aipm_ metric a query names is one
// the operator exports, so that a renamed metric breaks the build instead of
// a dashboard.
package dashboards
