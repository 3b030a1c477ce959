//! Jinja2's arithmetic operators with Python's semantics and error messages.
//!
//! `compile.rs` swaps each `+`, `-`, `*`, `/`, `//`, `**` and unary `-` instruction for a
//! call of a reserved method name, so the operations arrive here through the
//! unknown-method callback. Python decides by the operand types: `'a' + 1` raises
//! `TypeError: can only concatenate str (not "int") to str`, which ansible-core reports
//! as an unexpected templating type error, while minijinja has its own wording and rules
//! (it repeats `'a' * 2.0`, for one). `%` is handled in `methods.rs`, as string
//! formatting and modulo.
//!
//! NOTE: minijinja folds operations on two literals while compiling, with its own rules,
//! so `{{ 'a' * 2.0 }}` still renders `aa` where Python raises a `TypeError`.

use minijinja::value::{Tuple, Value as JValue, ValueKind};
use minijinja::Error;

use super::error::{TemplateError, TemplateErrorKind};
use super::filters::python_type_error;
use super::methods::class_name;
use super::render::{raise, undefined_error};

/// Method name standing in for `+`.
pub const ADD: &str = "\u{0}add";
/// Method name standing in for `-` between two operands.
pub const SUBTRACT: &str = "\u{0}sub";
/// Method name standing in for `*`.
pub const MULTIPLY: &str = "\u{0}mul";
/// Method name standing in for `/`.
pub const DIVIDE: &str = "\u{0}truediv";
/// Method name standing in for `//`.
pub const FLOOR_DIVIDE: &str = "\u{0}floordiv";
/// Method name standing in for `**`.
pub const POWER: &str = "\u{0}pow";
/// Method name standing in for unary `-`.
pub const NEGATE: &str = "\u{0}neg";

/// A Python number: `bool` counts as `int`.
#[derive(Clone, Copy, Debug)]
enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    fn of(value: &JValue) -> Option<Number> {
        match value.kind() {
            ValueKind::Bool => Some(Number::Int(i128::from(value.is_true()))),
            ValueKind::Number if value.is_integer() => {
                i128::try_from(value.clone()).ok().map(Number::Int)
            }
            ValueKind::Number => f64::try_from(value.clone()).ok().map(Number::Float),
            _ => None,
        }
    }

    fn as_float(self) -> f64 {
        match self {
            Number::Int(n) => n as f64,
            Number::Float(f) => f,
        }
    }
}

/// The Python sequence types that `+` concatenates and `*` repeats.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sequence {
    Str,
    List,
    Tuple,
}

impl Sequence {
    fn of(value: &JValue) -> Option<Sequence> {
        match value.kind() {
            ValueKind::String => Some(Sequence::Str),
            ValueKind::Seq if value.is_tuple() => Some(Sequence::Tuple),
            ValueKind::Seq | ValueKind::Iterable => Some(Sequence::List),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Sequence::Str => "str",
            Sequence::List => "list",
            Sequence::Tuple => "tuple",
        }
    }
}

/// Applies the binary operator that `method` stands for; `None` when `method` is not
/// one of the operator names.
pub fn binary(method: &str, left: &JValue, right: &JValue) -> Option<Result<JValue, Error>> {
    let operation = match method {
        ADD => add,
        SUBTRACT => subtract,
        MULTIPLY => multiply,
        DIVIDE => divide,
        FLOOR_DIVIDE => floor_divide,
        POWER => power,
        _ => return None,
    };
    if left.is_undefined() || right.is_undefined() {
        return Some(Err(undefined_error()));
    }
    Some(operation(left, right))
}

/// Python's unary `-`.
pub fn negate(value: &JValue) -> Result<JValue, Error> {
    if value.is_undefined() {
        return Err(undefined_error());
    }
    match Number::of(value) {
        Some(Number::Int(n)) => Ok(JValue::from(-n)),
        Some(Number::Float(f)) => Ok(JValue::from(-f)),
        None => Err(python_type_error(format!(
            "bad operand type for unary -: '{}'",
            operand_type(value)
        ))),
    }
}

fn add(left: &JValue, right: &JValue) -> Result<JValue, Error> {
    if let (Some(a), Some(b)) = (Number::of(left), Number::of(right)) {
        return match (a, b) {
            (Number::Int(a), Number::Int(b)) => int_result(a.checked_add(b)),
            _ => Ok(JValue::from(a.as_float() + b.as_float())),
        };
    }
    let Some(sequence) = Sequence::of(left) else {
        return Err(unsupported("+", left, right));
    };
    if Sequence::of(right) != Some(sequence) {
        return Err(python_type_error(format!(
            "can only concatenate {} (not \"{}\") to {}",
            sequence.name(),
            operand_type(right),
            sequence.name()
        )));
    }
    if sequence == Sequence::Str {
        let text = [left.as_str(), right.as_str()].map(Option::unwrap_or_default);
        return Ok(JValue::from(text.concat()));
    }
    let mut items = items_of(left)?;
    items.extend(items_of(right)?);
    Ok(sequence_value(sequence, items))
}

fn subtract(left: &JValue, right: &JValue) -> Result<JValue, Error> {
    match (Number::of(left), Number::of(right)) {
        (Some(Number::Int(a)), Some(Number::Int(b))) => int_result(a.checked_sub(b)),
        (Some(a), Some(b)) => Ok(JValue::from(a.as_float() - b.as_float())),
        _ => Err(unsupported("-", left, right)),
    }
}

fn multiply(left: &JValue, right: &JValue) -> Result<JValue, Error> {
    match (Number::of(left), Number::of(right)) {
        (Some(Number::Int(a)), Some(Number::Int(b))) => return int_result(a.checked_mul(b)),
        (Some(a), Some(b)) => return Ok(JValue::from(a.as_float() * b.as_float())),
        _ => {}
    }
    let (sequence, value, count) = match (Sequence::of(left), Sequence::of(right)) {
        (Some(sequence), _) => (sequence, left, right),
        (None, Some(sequence)) => (sequence, right, left),
        (None, None) => return Err(unsupported("*", left, right)),
    };
    let Some(Number::Int(count)) = Number::of(count) else {
        return Err(python_type_error(format!(
            "can't multiply sequence by non-int of type '{}'",
            operand_type(count)
        )));
    };
    repeat(sequence, value, usize::try_from(count).unwrap_or(0))
}

/// Limit on the length of a repeated string or sequence, against templates that would
/// exhaust memory (`'x' * 10**12`).
const MAX_REPEATED_LEN: usize = 100_000_000;

/// Python's `sequence * count`; a negative count gives an empty sequence.
fn repeat(sequence: Sequence, value: &JValue, count: usize) -> Result<JValue, Error> {
    let too_large = || {
        raise(TemplateError::new(
            TemplateErrorKind::Render,
            "repeated sequence is too large",
        ))
    };
    if sequence == Sequence::Str {
        let text = value.as_str().unwrap_or_default();
        let len = text.len().checked_mul(count).ok_or_else(too_large)?;
        if len > MAX_REPEATED_LEN {
            return Err(too_large());
        }
        return Ok(JValue::from(text.repeat(count)));
    }
    let items = items_of(value)?;
    let len = items.len().checked_mul(count).ok_or_else(too_large)?;
    if len > MAX_REPEATED_LEN {
        return Err(too_large());
    }
    let repeated = (0..count).flat_map(|_| items.iter().cloned()).collect();
    Ok(sequence_value(sequence, repeated))
}

fn divide(left: &JValue, right: &JValue) -> Result<JValue, Error> {
    let (Some(a), Some(b)) = (Number::of(left), Number::of(right)) else {
        return Err(unsupported("/", left, right));
    };
    if b.as_float() == 0.0 {
        let message = match (a, b) {
            (Number::Int(_), Number::Int(_)) => "division by zero",
            _ => "float division by zero",
        };
        return Err(zero_division(message));
    }
    Ok(JValue::from(a.as_float() / b.as_float()))
}

fn floor_divide(left: &JValue, right: &JValue) -> Result<JValue, Error> {
    match (Number::of(left), Number::of(right)) {
        (Some(Number::Int(_)), Some(Number::Int(0))) => {
            Err(zero_division("integer division or modulo by zero"))
        }
        (Some(Number::Int(a)), Some(Number::Int(b))) => int_result(int_floor_divide(a, b)),
        (Some(_), Some(b)) if b.as_float() == 0.0 => {
            Err(zero_division("float floor division by zero"))
        }
        (Some(a), Some(b)) => Ok(JValue::from(float_floor_divide(a.as_float(), b.as_float()))),
        _ => Err(unsupported("//", left, right)),
    }
}

/// Python's `int.__floordiv__`, which rounds towards negative infinity where Rust's `/`
/// truncates; `None` on overflow.
fn int_floor_divide(a: i128, b: i128) -> Option<i128> {
    let quotient = a.checked_div(b)?;
    let remainder = a.checked_rem(b)?;
    if remainder != 0 && (remainder < 0) != (b < 0) {
        return quotient.checked_sub(1);
    }
    Some(quotient)
}

/// Python's `float.__floordiv__`: the quotient of `divmod`, whose remainder takes the
/// divisor's sign, rounded to the nearest whole number.
fn float_floor_divide(a: f64, b: f64) -> f64 {
    let remainder = a % b;
    let mut quotient = (a - remainder) / b;
    if remainder != 0.0 && (b < 0.0) != (remainder < 0.0) {
        quotient -= 1.0;
    }
    if quotient == 0.0 {
        return 0.0f64.copysign(a / b);
    }
    let mut floored = quotient.floor();
    if quotient - floored > 0.5 {
        floored += 1.0;
    }
    floored
}

fn power(left: &JValue, right: &JValue) -> Result<JValue, Error> {
    let (Some(base), Some(exponent)) = (Number::of(left), Number::of(right)) else {
        return Err(unsupported("** or pow()", left, right));
    };
    if base.as_float() == 0.0 && exponent.as_float() < 0.0 {
        return Err(zero_division("0.0 cannot be raised to a negative power"));
    }
    match (base, exponent) {
        (Number::Int(base), Number::Int(exponent)) if exponent >= 0 => {
            let exponent = u32::try_from(exponent).ok();
            int_result(exponent.and_then(|exponent| base.checked_pow(exponent)))
        }
        // NOTE: Python returns a complex number for a negative base and a fractional
        // exponent (`(-8) ** 0.5`); rplay has no complex type and returns nan.
        _ => Ok(JValue::from(base.as_float().powf(exponent.as_float()))),
    }
}

/// Wraps the result of an integer operation, which is `None` on overflow.
// NOTE: Python's integers have no limit; results beyond i128 fail here.
fn int_result(result: Option<i128>) -> Result<JValue, Error> {
    result.map(JValue::from).ok_or_else(|| {
        raise(TemplateError::new(
            TemplateErrorKind::Render,
            "integer result is beyond the 128-bit integers rplay supports",
        ))
    })
}

/// Python's `TypeError` for two operand types that an operator does not combine.
fn unsupported(operator: &str, left: &JValue, right: &JValue) -> Error {
    python_type_error(format!(
        "unsupported operand type(s) for {operator}: '{}' and '{}'",
        operand_type(left),
        operand_type(right)
    ))
}

/// Python's `ZeroDivisionError`, which ansible-core passes on without wrapping.
fn zero_division(message: &str) -> Error {
    raise(TemplateError::new(TemplateErrorKind::ZeroDivision, message))
}

/// Returns the Python type name of an operand, as Python's operator errors show it.
pub fn operand_type(value: &JValue) -> &'static str {
    class_name(value)
}

fn items_of(value: &JValue) -> Result<Vec<JValue>, Error> {
    Ok(value.try_iter()?.collect())
}

fn sequence_value(sequence: Sequence, items: Vec<JValue>) -> JValue {
    match sequence {
        Sequence::Tuple => JValue::from(Tuple::from(items)),
        _ => JValue::from(items),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_floor_division_signs() {
        assert_eq!(float_floor_divide(7.0, 2.0), 3.0);
        assert_eq!(float_floor_divide(-7.0, 2.0), -4.0);
        assert_eq!(float_floor_divide(7.0, -2.0), -4.0);
        assert_eq!(float_floor_divide(1.5, 1.0), 1.0);
        assert!(float_floor_divide(-0.0, 2.0).is_sign_negative());
    }

    #[test]
    fn integer_floor_division_signs() {
        let divide = |a: i64, b: i64| {
            floor_divide(&JValue::from(a), &JValue::from(b))
                .expect("divides")
                .as_i64()
        };
        assert_eq!(divide(7, 2), Some(3));
        assert_eq!(divide(-7, 2), Some(-4));
        assert_eq!(divide(7, -2), Some(-4));
        assert_eq!(divide(-7, -2), Some(3));
        assert_eq!(divide(6, -2), Some(-3));
    }
}
