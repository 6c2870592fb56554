using System.CommandLine;
using System.Globalization;
using System.Numerics;

namespace Tattle.Cli.Commands;

/// <summary>
/// Numeric options that turn any value into either a number in range or one error line naming the option and the
/// range. System.CommandLine's own conversion fails with an error that makes every later GetValue of the option
/// throw (a stack trace and exit 134 from the first validator that reads it), so the conversion here never fails:
/// a bad value parses as zero and the option's validator reports it.
/// </summary>
internal static class NumberOption
{
    /// <summary>An option taking a number from <paramref name="min"/> to <paramref name="max"/>, further limited by <paramref name="accept"/>.</summary>
    /// <param name="name">The option's name, e.g. --snaplen.</param>
    /// <param name="range">How the accepted values are described in the error, e.g. "an integer from 0 to 1048576".</param>
    /// <param name="min">The smallest value accepted.</param>
    /// <param name="max">The largest value accepted.</param>
    /// <param name="description">The help text.</param>
    /// <param name="helpName">The value's name in the help, e.g. BYTES.</param>
    /// <param name="defaultValue">The value when the option is not given (otherwise zero).</param>
    /// <param name="accept">An extra condition (a power of two), or null.</param>
    public static Option<T> Create<T>(string name, string range, T min, T max, string description, string helpName,
        T? defaultValue = null, Func<T, bool>? accept = null)
        where T : struct, INumber<T>
    {
        var option = new Option<T>(name)
        {
            Description = description,
            HelpName = helpName,
            CustomParser = result => TryParse(result.Tokens.Count > 0 ? result.Tokens[^1].Value : "", min, max, accept, out T value) ? value : T.Zero,
        };
        if (defaultValue is { } fallback)
        {
            option.DefaultValueFactory = _ => fallback;
        }
        option.Validators.Add(result =>
        {
            // A default needs no check, and a missing value has System.CommandLine's own error.
            if (result.Implicit || result.Tokens.Count == 0)
            {
                return;
            }
            string text = result.Tokens[^1].Value;
            if (!TryParse(text, min, max, accept, out _))
            {
                result.AddError($"{name} must be {range}, not '{text}'");
            }
        });
        return option;
    }

    /// <summary>Parses an invariant-culture number and checks it is in range (NaN and infinities never are).</summary>
    internal static bool TryParse<T>(string text, T min, T max, Func<T, bool>? accept, out T value)
        where T : struct, INumber<T>
    {
        var style = typeof(T) == typeof(double) || typeof(T) == typeof(float) ? NumberStyles.Float : NumberStyles.AllowLeadingSign;
        if (!T.TryParse(text, style, CultureInfo.InvariantCulture, out value) || !(value >= min && value <= max) || accept?.Invoke(value) == false)
        {
            value = T.Zero;
            return false;
        }
        return true;
    }
}
