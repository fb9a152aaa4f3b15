"""Python floats through the math module and the builtins."""

import math


def pendulum_energy(theta: float, omega: float, length: float):
    g = 9.81
    kinetic = 0.5 * (length * omega) ** 2
    potential = g * length * (1 - math.cos(theta))
    return kinetic + potential


def special(x, y):
    a = math.exp(-x) * math.sin(y) + math.log(x + y) / math.sqrt(x)
    b = math.atan2(y, x) + math.hypot(x, y) + math.tanh(x * y) + math.log(x, 2.0)
    c = abs(x - y) + max(x, y) - min(x * y, 1.0) + float(x) ** 3
    return a + b + c + pow(x, 2.5) + math.pow(y, x) + math.log1p(x) - math.expm1(-y)
