"""Draw a dialog as a Mermaid flowchart (`bridges dialogs graph NAME`)."""

from __future__ import annotations

from dialogs.spec import DIALOG_PREFIX, END, DialogSpec


def _node(dialog: DialogSpec, step_id: str) -> str:
    step = dialog.steps[step_id]
    shape = f"([{step_id}])" if step.end else f"[{step_id}<br/><i>{step.input}</i>]"
    return f"    {step_id}{shape}"


def mermaid(dialog: DialogSpec) -> str:
    lines = ["flowchart TD", f"    start((start)) --> {dialog.start}"]
    lines += [_node(dialog, sid) for sid in dialog.steps]
    exits: set[str] = set()
    for step in dialog.steps.values():
        edges: list[tuple[str, str]] = [
            (c.id, c.next or step.next or END)
            for c in step.choices
            if step.input != "multi" or c.finish
        ]
        if step.input == "multi":
            edges.append(("tick", step.id))
        if step.collect:
            edges.append(("add a line", step.id))
        if step.choices_from:
            edges.append((f"{step.choices_from}…", step.next or END))
        if step.input not in ("choice", "none") or (step.input == "none" and step.next):
            edges.append((step.input if step.input != "none" else "", step.next or END))
        edges += [("hook", t) for t in step.exits]
        if step.end and not edges:
            edges.append(("", END))
        for label, target in dict.fromkeys(edges):
            node = target
            if target == END or target.startswith(DIALOG_PREFIX):
                node = "end_" + target.removeprefix(DIALOG_PREFIX).replace(END, "done")
                node = node.replace("/", "_")  # a dialog:<id>/<step> target
                name = "end" if target == END else target.removeprefix(DIALOG_PREFIX)
                exits.add(f"    {node}((({name})))" if target == END else f"    {node}[[{name}]]")
            arrow = f"-- {label} -->" if label else "-->"
            lines.append(f"    {step.id} {arrow} {node}")
    return "\n".join(lines + sorted(exits)) + "\n"
