//! Differential tests of the YAML loader against Ansible's own loader.
//!
//! `compat-tests/yaml/oracle.py` loads a file with ansible-core's `AnsibleLoader` and
//! prints typed JSON. Its output for each fixture under `fixtures/yaml/` is recorded
//! next to the fixture as `NAME.expected.json` by `compat-tests/yaml/record-golden`, so
//! the golden test runs without Python. The other tests run the oracle live and skip
//! themselves when its virtualenv or Kubespray's checkout is missing.

mod compare;
mod fuzz;
mod golden;
mod oracle;
