# rplay_results: an Ansible callback plugin of rplay's compat tests. It writes, for each
# host, every task result as `register` stores it, so that golden runs of real Ansible can
# be compared with rplay's results file (rplay writes the same file when this callback is
# enabled, see src/output/results.rs).
#
# Enable it with
#   ANSIBLE_CALLBACK_PLUGINS=compat-tests/lab/callback_plugins
#   ANSIBLE_CALLBACKS_ENABLED=rplay_results
#   RPLAY_RESULTS_PATH=/where/results.json
#
# The file is JSON with sorted keys:
#   {"hosts": {"HOST": [{"play": ..., "task": ..., "action": ..., "register": NAME or null,
#                        "status": "ok" | "failed" | "skipped" | "unreachable",
#                        "ignored": bool, "result": {...}}, ...]}}
# Entries of one host keep the order in which its results arrived. A loop gives one entry,
# whose result contains the items under `results`, as a registered loop result does.
from __future__ import annotations

DOCUMENTATION = '''
    name: rplay_results
    type: notification
    short_description: Write every task result as register stores it, per host, as JSON
    description:
        - Used by rplay's compat tests to compare real Ansible with rplay.
    options:
        path:
            description: The JSON file to write.
            ini:
                - section: callback_rplay_results
                  key: path
            env:
                - name: RPLAY_RESULTS_PATH
            type: path
            required: true
'''

import json

from ansible.executor.task_result import TaskResult
from ansible.plugins.callback import CallbackBase
from ansible.vars.clean import module_response_deepcopy, strip_internal_keys

# Callbacks receive TaskResult.clean_copy(), which drops `failed` and `skipped` and
# censors no_log results; `register` stores neither form. The strategy registers
#   strip_internal_keys(module_response_deepcopy(result._result)) minus `invocation`
# (ansible/plugins/strategy/__init__.py, ansible-core 2.18), so the wrapper below computes
# exactly that from the uncleaned result and attaches it to the copy callbacks get.
_ORIGINAL_CLEAN_COPY = getattr(TaskResult.clean_copy, '_rplay_original', TaskResult.clean_copy)


def _registered_value(raw):
    value = strip_internal_keys(module_response_deepcopy(raw))
    value.pop('invocation', None)
    return value


def _clean_copy_with_registered(self):
    copy = _ORIGINAL_CLEAN_COPY(self)
    copy._rplay_registered = _registered_value(self._result)
    return copy


_clean_copy_with_registered._rplay_original = _ORIGINAL_CLEAN_COPY
TaskResult.clean_copy = _clean_copy_with_registered


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'notification'
    CALLBACK_NAME = 'rplay_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._play = None
        self._hosts = {}

    def v2_playbook_on_start(self, playbook):
        self._write()

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name().strip()

    def _add(self, status, result, ignored=False):
        task = result._task
        registered = getattr(result, '_rplay_registered', None)
        if registered is None:
            registered = _registered_value(result._result)
        self._hosts.setdefault(result._host.get_name(), []).append({
            'play': self._play,
            'task': task.get_name().strip(),
            'action': task.action,
            'register': task.register or None,
            'status': status,
            'ignored': bool(ignored),
            'result': registered,
        })

    def v2_runner_on_ok(self, result):
        self._add('ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._add('failed', result, ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._add('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._add('unreachable', result)

    def v2_playbook_on_stats(self, stats):
        self._write()

    def _write(self):
        with open(self.get_option('path'), 'w') as file:
            json.dump({'hosts': self._hosts}, file, indent=1, sort_keys=True, default=str)
            file.write('\n')
