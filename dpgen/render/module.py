"""Assembling the generated module: one entry per function (vjp, grad, jvp, hvp), then the template.

`Renderer` composes the expression printer with the reverse- and forward-mode statement
mixins; this module adds what is per function (signatures, docstrings, the `f_grad` and
`f_hvp` entries, the complex-argument check) and `render`, which lays the functions out
through the backend's ``module.py.j2`` with the imports and helpers the code uses, then
spells hidden module-level names through aliases. `format` (black) does the final layout.
"""

from __future__ import annotations

import ast
import re

from dpgen.analysis.dtypes import complex_constants, complex_types, may_be_complex
from dpgen.backends import Backend, environment, template_name
from dpgen.escape import comment_text
from dpgen.ir import HvpFunction, HvpModule, JvpModule, Module, Seq, VjpFunction, VjpModule
from dpgen.names import NameAllocator
from dpgen.render.expressions import ALIAS_MARK, ExpressionPrinter
from dpgen.render.forward import JvpRendering
from dpgen.render.reverse import ReverseRendering


class Renderer(JvpRendering, ReverseRendering, ExpressionPrinter):
    """Renders one module; remembers which helpers and modules its code uses.

    One object for all modes because the modes share state: the helpers used, the names a
    parameter hides (`ref`), and the JVP's tangent parameters (`tangent_names`, set by
    `render`), which a test inside a JVP needs. The mixins define no method twice, so their
    order does not matter."""

    #: Per function name, the parameters that may hold complex values (`analysis.dtypes`);
    #: `render` fills it for the modules it renders. Every other parameter is real.
    complex_params: dict[str, frozenset[str]] = {}
    complex_outputs: set[str] = set()  #: the functions whose result may be complex

    def function(self, fn: VjpFunction) -> dict:
        src = fn.source
        self.shadowed = frozenset(p.name for p in src.params)
        # The pullback's own loop and comprehension variables for dict adjoints; user
        # variables of these names were renamed (`names.reserved`), parameters keep theirs.
        locals_ = NameAllocator(self.shadowed)
        self.key, self.value = locals_.fresh("key"), locals_.fresh("value")
        params = ", ".join(p.name if p.default is None else f"{p.name}={p.default.text}" for p in src.params)
        backward = []
        if fn.seed_unpack is not None:
            backward.append(ast.unparse(ast.Assign([_unpack_target(fn.seed_unpack)], ast.Name(fn.seed), lineno=0)))
        for stmt in fn.backward:
            backward.extend(self.backward(stmt))
        cotangents = ast.unparse(ast.Tuple([ast.Name(c) if c else ast.Constant(None) for c in fn.cotangents]))
        checks = self.check_real(fn.name, src)
        description = (
            f"{src.description[0].upper()}{src.description[1:]}, and its pullback"
            if src.internal
            else f"{src.name} and its pullback"
        )
        checkpointed = self.checkpointed(fn, checks, description) if fn.checkpoint else None
        if checkpointed:
            # The recorded vjp is internal: f_vjp and f_grad check the arguments before calling it.
            description = f"{src.name} and its pullback, which keeps the residuals ({fn.name} reruns it)"
        return dict(
            kind="vjp",
            source_name=src.name,
            name=fn.name,
            vjp_def=fn.recorded if checkpointed else fn.name,
            checkpointed=checkpointed,
            params=params,
            call_args=", ".join(p.name for p in src.params),
            forward=([] if checkpointed else checks) + [line for s in fn.forward for line in self.forward(s)],
            description=description,
            pullback=fn.pullback_name,
            seed=fn.seed,
            backward=backward,
            cotangents=cotangents,
            result=ast.unparse(self.atom(src.result)),
            grad=self.grad(fn, self.check_real(fn.grad_name, src) if checkpointed else []),
            derivative=self.derivative(fn),
        )

    def checkpointed(self, fn: VjpFunction, checks: list[str], description: str) -> dict:
        """The checkpointed ``f_vjp`` (`dpgen.passes.checkpoint`): it keeps only its inputs, and its
        pullback reruns the recorded vjp for the residuals."""
        src = fn.source
        names = NameAllocator(p.name for p in src.params)
        where = comment_text(f"{self.source_name}:{src.span.line}")
        return dict(
            recorded=self.ref(fn.recorded),
            doc=f"{description}, checkpointed ({where}): only the inputs are kept;",
            doc_more=f"the pullback reruns {fn.recorded} for the residuals when it runs.",
            checks=checks,
            out=names.fresh("out"),
            unused=names.fresh("_"),  # a parameter may be called `_`
            seed=names.fresh("out_bar"),
            pullback=names.fresh("pullback"),
        )

    def check_real(self, name: str, src, tangents: tuple[str, ...] = ()) -> list[str]:
        """``_check_real("f_vjp", x=x)`` at a public entry: a complex value for a parameter the
        source declares real is an error, never a number (the passes typed it real). Internal
        functions need no check, nor parameters annotated `float`: declared real, and scalar
        code calls small functions so often that the check would cost as much as the function
        (the `ode` benchmark); nor parameters that may be complex (`complex_params`).
        `tangents` are f_jvp's tangents of real parameters in a module with complex values."""
        complex_params = self.complex_params.get(src.name, frozenset())
        params = [p.name for p in src.params if p.differentiable and not p.scalar and p.name not in complex_params]
        params += list(tangents)
        if src.internal or not params:
            return []
        self.use_helper("_check_real")
        return [f"{self.ref('_check_real')}({name!r}, {', '.join(f'{p}={p}' for p in params)})"]

    def hvp_function(self, fn: HvpFunction) -> dict:
        src = fn.source
        self.shadowed = frozenset(p.name for p in src.params)
        names = NameAllocator(p.name for p in src.params)
        directions = [names.fresh(f"v{p.name}") for p in src.params]
        params = [p.name if p.default is None else f"{p.name}={p.default.text}" for p in src.params]
        params += [f"{v}=None" if any(p.default for p in src.params) else v for v in directions]
        rows = [k for k, d in enumerate(fn.differentiable) if d]
        if len(rows) == 1:
            pick, what = f"[{rows[0]}]", f"with respect to {src.params[rows[0]].name}"
        else:
            pick, what = f"[:{len(src.params)}]", "one entry per parameter (None where not differentiable)"
        checks = []
        if fn.checkpointed:  # it calls the recorded vjp of f_jvp, which checks nothing
            complex_params = self.complex_params.get(src.name, frozenset())
            checked = [
                directions[k]
                for k, p in enumerate(src.params)
                if p.differentiable and not p.scalar and p.name not in complex_params
            ]
            checks = self.check_real(fn.name, src, tuple(checked))
        return dict(
            kind="hvp",
            checks=checks,
            name=fn.name,
            params=", ".join(params),
            call_args=", ".join([p.name for p in src.params] + directions),
            directions=", ".join(directions),
            source_name=src.name,
            vjp_name=self.ref(fn.vjp_name),
            error=self.ref("ValueError"),
            out=names.fresh("out"),
            dout=names.fresh("dout"),
            pullback=names.fresh("pullback"),
            pick=pick,
            what=what,
            complex_output=fn.complex_output,
        )

    def grad(self, fn: VjpFunction, checks: list[str]) -> dict | None:
        """``f_grad``; for a checkpointed f it calls the recorded vjp (rerunning f would gain
        nothing), so it checks the arguments itself (`checks`)."""
        if isinstance(fn.source.result, Seq) or fn.source.internal or fn.source.returns_tuple:
            return None  # a tuple is not a real scalar
        names = NameAllocator(p.name for p in fn.source.params)
        differentiable = [i for i, c in enumerate(fn.cotangents) if c is not None]
        if len(differentiable) == 1:
            pick, what = f"[{differentiable[0]}]", f" with respect to {fn.source.params[differentiable[0]].name}"
        else:
            pick, what = "", ", one entry per parameter (None where not differentiable)"
        return dict(
            name=fn.grad_name,
            checks=checks,
            vjp=self.ref(fn.recorded if fn.checkpoint else fn.name),
            error=self.ref("ValueError"),
            out=names.fresh("out"),
            pullback=names.fresh(fn.pullback_name),
            pick=pick,
            what=what,
            # A complex output has no gradient: said at run time, where the value's type is known.
            complex=fn.source.name in self.complex_outputs,
            # Named in the complex-output error only when it is written.
            derivative=(
                fn.derivative.name
                if fn.derivative and not fn.derivative.breaks and not fn.derivative.unsupported
                else None
            ),
            source_name=fn.source.name,
        )

    def derivative(self, fn: VjpFunction) -> dict | None:
        """``f_derivative``: the conjugate of the pullback's cotangents for the seed 1.0 (for a
        holomorphic f, z_bar = conj(f'(z)) * 1), or the comment saying why it is not written."""
        derivative = fn.derivative
        if derivative is None:
            return None
        if derivative.breaks:
            where = ", ".join(f"in {b.param} ({b.location}: {b.text})" for b in derivative.breaks)
            return dict(
                comment=comment_text(f"{derivative.name} is not written: {fn.source.name} is not holomorphic {where}")
            )
        if derivative.unsupported:
            return dict(comment=comment_text(f"{derivative.name} is not written: {derivative.unsupported}"))
        params = fn.source.params
        names = NameAllocator(p.name for p in params)
        np_ = self.backend.alias
        out, pullback, cotangents = names.fresh("out"), names.fresh(fn.pullback_name), names.fresh("cotangents")
        complex_ = [k for k, c in enumerate(derivative.complex) if c]
        # A real value passed for a complex parameter is made complex: the pullback returns real
        # cotangents for real values ("real stays real"), and f'(x) of a real x is complex still.
        call_args = ", ".join(
            f"{self.ref(np_)}.asarray({p.name}) + 0j" if derivative.complex[k] else p.name for k, p in enumerate(params)
        )

        def entry(k: int, seq: str) -> str:
            return f"{np_}.conj({seq}[{k}])" if fn.cotangents[k] is not None else "None"

        if len(complex_) == 1:
            (k,) = complex_
            body = [f"return {entry(k, f'{pullback}(1.0)')}"]
            what = f"{fn.source.name}'({params[k].name}) of a holomorphic {fn.source.name}"
        else:
            body = [
                f"{cotangents} = {pullback}(1.0)",
                "return " + ", ".join(entry(k, cotangents) if c else "None" for k, c in enumerate(derivative.complex)),
            ]
            what = (
                f"of a holomorphic {fn.source.name}: "
                + ", ".join(f"d{fn.source.name}/d{params[k].name}" for k in complex_)
                + (" (None for the real parameters)" if len(complex_) < len(params) else "")
            )
        return dict(
            name=derivative.name,
            doc=f"The complex derivative {what}" if len(complex_) == 1 else f"The complex derivatives {what}",
            first=f"{out}, {pullback} = {self.ref(fn.name)}({call_args})",
            out=out,
            error=self.ref("ValueError"),
            body=body,
        )


def _unpack_target(targets: tuple) -> ast.expr:
    """``(a_bar, (b_bar, _))`` for nested unpacking targets; None becomes ``_``."""
    return ast.Tuple([_unpack_target(t) if isinstance(t, tuple) else ast.Name(t or "_") for t in targets])


def render(
    source: Module,
    vjp: VjpModule | None,
    jvp: JvpModule | None,
    backend: Backend,
    header: str,
    hessian: HvpModule | None = None,
) -> str:
    """The generated module's text, before black: each source function's vjp/grad, then its
    jvp; then the Hessian-vector products and the reverse-mode module of the JVPs they call."""
    renderer = Renderer(backend, source.source_name)
    variables, renderer.complex_params = complex_types(source)
    renderer.complex_outputs = {
        f.name for f in source.functions if may_be_complex(f.result, variables[f.name], complex_constants(source))
    }
    if hessian is not None:  # f_jvp_vjp: the forward-mode functions, as the HVP's inner module reads them
        renderer.complex_params.update(complex_types(hessian.inner.source)[1])
    renderer.tangent_names = {f.source.name: f.tangent_params for f in jvp.functions} if jvp else {}
    vjps = {f.source.name: renderer.function(f) for f in vjp.functions} if vjp else {}
    jvps = {f.source.name: renderer.jvp_function(f) for f in jvp.functions} if jvp else {}
    functions = [block[f.name] for f in source.functions for block in (vjps, jvps) if f.name in block]
    if hessian is not None:
        functions += [renderer.hvp_function(f) for f in hessian.functions]
        functions += [renderer.function(f) for f in hessian.inner.functions]
    body_text = "\n".join(
        line for f in functions for line in f.get("forward", []) + f.get("backward", []) + f.get("body", [])
    )
    imports = []
    if re.search(r"\bmath\.", body_text) or any(re.search(r"\bmath\.", line) for line in source.prelude):
        imports.append("import math")
    imports.append(
        f"import {backend.module} as {backend.alias}" if backend.module != backend.alias else f"import {backend.module}"
    )
    # A module besides the array module (CuPy's cupyx, for its scatter-add) is imported only by the
    # modules that call it: most gradients never add into a repeated index.
    imports += [f"import {extra}" for extra in backend.extra_modules() if re.search(rf"\b{extra}\.", body_text)]
    helpers = [text for name, (text, _) in renderer.helpers.items() if name in renderer.used_helpers]
    text = (
        environment(backend)
        .get_template(template_name(backend, "module.py.j2"))
        .render(
            header=header,
            source_name=source.source_name,
            reverse=vjp is not None,
            derivative=any(f.get("derivative") and "comment" not in f["derivative"] for f in functions),
            forward=jvp is not None,
            hvp=hessian is not None,
            imports=imports,
            prelude=source.prelude,
            functions=functions,
            helpers=helpers,
            np=backend.alias,
        )
    )
    return _resolve_aliases(text)


def _resolve_aliases(text: str) -> str:
    """Spell each marked reference (`ExpressionPrinter.ref`) through a module-level alias.

    A parameter hides the module-level name it shares (``def f_grad(x, f_vjp)`` cannot call
    the function ``f_vjp``), and a parameter keeps the user's name: callers may pass it by
    keyword. The alias is free everywhere in the module, so nothing hides it."""
    marked = sorted(set(re.findall(ALIAS_MARK + r"(\w+)", text)))
    if not marked:
        return text
    names = NameAllocator(re.findall(r"\w+", text))
    aliases = {name: names.fresh(f"_{name}") for name in marked}
    text = re.sub(ALIAS_MARK + r"(\w+)", lambda m: aliases[m.group(1)], text)
    lines = [f"{alias} = {name}" for name, alias in aliases.items()]
    return (
        text.rstrip("\n")
        + "\n\n\n# Other names for the functions above where a parameter hides theirs.\n"
        + "\n".join(lines)
        + "\n"
    )
