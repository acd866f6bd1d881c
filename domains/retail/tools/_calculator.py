"""Safe arithmetic for the ``calculate`` tool: numbers, + - * / and parentheses, no ``eval``."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable

from waypost.runtime.errors import ValidationFailed

__all__ = ["calculate"]

_ALLOWED_CHARS = frozenset("0123456789+-*/(). ")
_MAX_EXPONENT = 64
_MAX_INT_BITS = 4096
Number = int | float
_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def _evaluate(node: ast.AST) -> Number:
    """Python's own arithmetic on ints and floats, as ``eval`` would do it, but only that."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise ValidationFailed("Invalid expression")
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ValidationFailed("Exponent too large")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, int) and result.bit_length() > _MAX_INT_BITS:
            raise ValidationFailed("Result too large")
        if isinstance(result, complex):
            raise ValidationFailed("Invalid expression")
        return result
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    raise ValidationFailed("Invalid expression")


def calculate(expression: str) -> str:
    """The value of ``expression`` rounded to 2 decimals, as tau2's ``calculate`` prints it."""
    if not all(char in _ALLOWED_CHARS for char in expression):
        raise ValidationFailed("Invalid characters in expression")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise ValidationFailed("Invalid expression") from None
    try:
        value = float(_evaluate(tree))
    except ZeroDivisionError:
        raise ValidationFailed("division by zero") from None
    except OverflowError:
        raise ValidationFailed("Result too large") from None
    return str(round(value, 2))
