using System.Globalization;
using System.Text.RegularExpressions;

namespace InfraRelocation.Testing.Proxmox;

/// <summary>
/// Parameter and privilege checks driven by <see cref="ApiRules"/>, with the messages
/// PVE::JSONSchema::validate produces (pve-common src/PVE/JSONSchema.pm: check_type, check_prop, validate).
/// </summary>
public static partial class RuleValidator
{
    [GeneratedRegex(@"^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$")]
    private static partial Regex DnsName();

    [GeneratedRegex(@"^[-%a-zA-Z0-9_.!~*'()]*$")]
    private static partial Regex UrlEncoded();

    [GeneratedRegex(@"^([a-z\-]+)(\d+)$")]
    private static partial Regex IndexedKey();

    /// <summary>Parameter errors (name → PVE message); empty when valid.</summary>
    public static Dictionary<string, string> Validate(EndpointRule rule, IReadOnlyDictionary<string, string> parameters)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in parameters)
        {
            if (Find(rule, name) is not { } prop)
                errors[name] = "property is not defined in schema and the schema does not allow additional properties";
            else if (Check(prop, value) is { } error)
                errors[name] = error;
        }
        foreach (var prop in rule.Parameters)
            if (!prop.Optional && !prop.Name.EndsWith("[n]", StringComparison.Ordinal) && !parameters.ContainsKey(prop.Name))
                errors[prop.Name] = "property is missing and it is not optional";
        return errors;
    }

    private static ParamRule? Find(EndpointRule rule, string name)
    {
        if (rule.Parameters.FirstOrDefault(p => p.Name == name) is { } exact) return exact;
        var m = IndexedKey().Match(name);
        return m.Success ? rule.Parameters.FirstOrDefault(p => p.Name == m.Groups[1].Value + "[n]") : null;
    }

    private static string? Check(ParamRule prop, string value)
    {
        switch (prop.Type)
        {
            case ParamType.Boolean:
                if (value is not ("0" or "1")) return $"type check ('boolean') failed - got '{value}'";
                break;
            case ParamType.Integer:
                if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
                    return $"type check ('integer') failed - got '{value}'";
                return Range(prop, i);
            case ParamType.Number:
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                    return $"type check ('number') failed - got '{value}'";
                return Range(prop, d);
            case ParamType.String:
                if (prop.Enum is { } values && !values.Contains(value))
                    return $"value '{value}' does not have a value in the enumeration '{string.Join(", ", values)}'";
                if (prop.MaxLength is { } max && value.Length > max) return $"value may only be {max} characters long";
                if (prop.Pattern is { } rx && !Regex.IsMatch(value, "^(?:" + rx + ")$")) return "value does not match the regex pattern";
                if (prop.Format == "dns-name" && !DnsName().IsMatch(value)) return "invalid format - value does not look like a valid DNS name";
                if (prop.Format == "urlencoded" && !UrlEncoded().IsMatch(value)) return $"invalid format - invalid urlencoded string: {value}";
                if (prop.Format == "pve-node" && !DnsName().IsMatch(value)) return "invalid format - value does not look like a valid node name";
                break;
        }
        return null;
    }

    private static string? Range(ParamRule prop, double value) =>
        prop.Minimum is { } min && value < min ? $"value must have a minimum value of {min}"
        : prop.Maximum is { } max && value > max ? $"value must have a maximum value of {max}"
        : null;

    /// <summary>
    /// Evaluates the endpoint's privilege check; returns the "path, priv" text of the first failed check, or null
    /// when allowed. <paramref name="denied"/> tells whether a privilege on an ACL path is missing.
    /// </summary>
    public static string? CheckPermission(EndpointRule rule, IReadOnlyDictionary<string, string> parameters, Func<string, string, bool> denied) =>
        rule.Check is null ? null : Evaluate(rule.Check, parameters, denied);

    private static string? Evaluate(PermissionCheck check, IReadOnlyDictionary<string, string> parameters, Func<string, string, bool> denied)
    {
        switch (check)
        {
            case PermissionCheck.Perm p:
                var path = Resolve(p.Path, parameters);
                var ok = p.Any ? p.Privileges.Any(pr => !denied(path, pr)) : p.Privileges.All(pr => !denied(path, pr));
                return ok ? null : $"{path}, {string.Join('|', p.Any ? p.Privileges : p.Privileges.Where(pr => denied(path, pr)))}";
            case PermissionCheck.And and:
                foreach (var sub in and.Checks)
                    if (Applies(sub, parameters) && Evaluate(sub, parameters, denied) is { } failed) return failed;
                return null;
            case PermissionCheck.Or or:
                string? first = null;
                foreach (var sub in or.Checks.Where(s => Applies(s, parameters)))
                {
                    if (Evaluate(sub, parameters, denied) is not { } r) return null;
                    first ??= r;
                }
                return first;
            default:
                return null;
        }
    }

    /// <summary>A <c>require_param</c> branch applies only when its parameter was sent (e.g. clone's pool).</summary>
    private static bool Applies(PermissionCheck check, IReadOnlyDictionary<string, string> parameters) =>
        check is not PermissionCheck.Perm { RequireParam: { } required } || parameters.ContainsKey(required);

    private static string Resolve(string template, IReadOnlyDictionary<string, string> parameters) =>
        Regex.Replace(template, @"\{(\w+)\}", m => parameters.GetValueOrDefault(m.Groups[1].Value, m.Value));
}
