"""Memory sharing: which names may refer to the same array, and the writes dpgen refuses because
of it (into an alias from inside an arm, into the array a loop walks) (a mixin of `Lowering`)."""

from __future__ import annotations

import libcst as cst

from dpgen.ir import ForEach, Var
from dpgen.frontend.regions import unique, walk
from dpgen.frontend.lowering.scope import Scope
from dpgen.frontend.lowering.tables import ROW, SPECIAL


class AliasChecks:
    """Which names may share memory, and the writes refused because of it. Part of `Lowering`, whose `__init__` holds the state."""

    def sharing(self, var: str, scope: Scope, exclude: str = "") -> list[str]:
        """Names bound to values that may share memory with variable `var` (either direction)."""
        partners = scope.shares.get(var, set())
        return sorted(
            n
            for n, v in scope.env.items()
            if isinstance(v, Var)
            and v.name != var
            and (v.name in partners or var in scope.shares.get(v.name, ()))
            and n != exclude
            and n not in SPECIAL
        )

    def check_aliased_writes(self, statements: list, scope: Scope) -> None:
        """Writing into an array inside an arm or loop body while another name outside refers
        to the same array would need the write to reach both names across the function
        boundary; dpgen says so instead of generating code whose values differ."""
        walked = walk(statements)
        for name in unique(walked.written + walked.augmented):
            value = scope.env.get(name)
            aliases = sorted(
                n
                for n, v in scope.env.items()
                if isinstance(value, Var) and v == value and n != name and n not in SPECIAL
            )
            if isinstance(value, Var):
                aliases += self.sharing(value.name, scope, exclude=name)
            if not aliases:
                continue
            if name in walked.written:
                self.error(
                    statements[0],
                    f"writing into '{name}' here while '{aliases[0]}' refers to the same array is not supported yet "
                    f"(use one name, or copy: {name} = {aliases[0]}.copy())",
                )
            else:
                # On an array `x += v` writes in place: `aliases[0]` would change too.
                self.error(
                    walked.written_at[name],
                    f"augmented assignment to '{name}' while '{aliases[0]}' refers to the same value "
                    f"is not supported yet (write '{name} = {name} + ...', or copy first: {name} = {aliases[0]}.copy())",
                )

    def check_iterated_writes(self, node: cst.For, over: ForEach, body: list, scope: Scope) -> None:
        """Python's ``for row in v`` walks the very array (or list) `v`: a write into it in the
        body reaches the rows not visited yet. dpgen's loop walks the value on entry, so such
        a write is refused (the rows themselves are `ROW`s, refused in `store`)."""
        iterated: set[str] = set()
        for sequence in over.sequences:
            if isinstance(sequence, Var):
                memory = self.shared_closure(sequence.name, scope)
                iterated.update(
                    n for n, v in scope.env.items() if isinstance(v, Var) and v.name in memory and n not in SPECIAL
                )
        # `for x in xs` over a list known when generating: its name, as written.
        walkers = ("zip", "enumerate", "reversed")
        arguments = (
            [a.value for a in node.iter.args]
            if isinstance(node.iter, cst.Call)
            and isinstance(node.iter.func, cst.Name)
            and node.iter.func.value in walkers
            else [node.iter]
        )
        iterated.update(a.value for a in arguments if isinstance(a, cst.Name) and a.value in scope.env)
        walked = walk(body)
        for name in unique(walked.written + walked.augmented):
            if name in iterated:
                self.error(
                    walked.written_at[name],
                    f"writing into '{name}' inside the loop that walks it is not supported (Python's loop would see "
                    f"the write in the rows not visited yet; to walk the values on entry: for ... in {name}.copy())",
                )

    def shared_closure(self, var: str, scope: Scope) -> set[str]:
        """Variables that may share memory with `var`, directly or through others."""
        found, todo = {var}, [var]
        while todo:
            current = todo.pop()
            linked = set(scope.shares.get(current, ())) | {
                v for v, partners in scope.shares.items() if current in partners
            }
            for other in linked - found - {ROW}:
                found.add(other)
                todo.append(other)
        return found
