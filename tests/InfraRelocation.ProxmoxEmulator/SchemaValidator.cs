using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace InfraRelocation.Testing.Proxmox;

/// <summary>
/// Parameter and privilege checks driven by the official schema subset (pve-api-subset.json), read at run
/// time from the shared folder; the file is AGPL reference data and is not part of this repository.
/// </summary>
public sealed partial class SchemaValidator
{
    private readonly Dictionary<string, JsonElement> _endpoints = new(StringComparer.Ordinal);

    private SchemaValidator() { }

    public static SchemaValidator? Load(string? path)
    {
        path ??= Environment.GetEnvironmentVariable("PVE_EMULATOR_SCHEMA") ?? FindSharedSchema();
        if (string.IsNullOrEmpty(path) || !File.Exists(path)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var v = new SchemaValidator();
        foreach (var e in doc.RootElement.GetProperty("endpoints").EnumerateArray())
            v._endpoints[e.GetProperty("method").GetString() + " " + e.GetProperty("path").GetString()] = e.GetProperty("schema").Clone();
        return v;
    }

    /// <summary>
    /// The schema is reference data kept outside the repository (AGPL): look for <c>shared/pve-api</c> in the
    /// folders above this assembly, which is where a checkout sits beside the shared reference folder.
    /// </summary>
    public static string? FindSharedSchema()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "pve-api", "pve-api-subset.json");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public bool AllowsToken(string method, string template) =>
        !_endpoints.TryGetValue(method + " " + template, out var s) || !s.TryGetProperty("allowtoken", out var t) || t.GetInt32() != 0;

    [GeneratedRegex(@"^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$")]
    private static partial Regex DnsName();

    [GeneratedRegex(@"^[-%a-zA-Z0-9_.!~*'()]*$")]
    private static partial Regex UrlEncoded();

    /// <summary>Parameter errors (name → PVE message); empty when valid.</summary>
    public Dictionary<string, string> Validate(string method, string template, IReadOnlyDictionary<string, string> parameters)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!_endpoints.TryGetValue(method + " " + template, out var schema)) return errors;
        var props = schema.GetProperty("parameters").TryGetProperty("properties", out var p) ? p : default;
        foreach (var (name, value) in parameters)
        {
            var prop = Find(props, name);
            if (prop is null)
            {
                errors[name] = "property is not defined in schema and the schema does not allow additional properties";
                continue;
            }
            if (Check(prop.Value, value) is { } error) errors[name] = error;
        }
        if (props.ValueKind == JsonValueKind.Object)
        {
            foreach (var prop in props.EnumerateObject())
            {
                var optional = prop.Value.TryGetProperty("optional", out var o) && o.GetInt32() == 1;
                if (!optional && !prop.Name.Contains('[') && !parameters.ContainsKey(prop.Name))
                    errors[prop.Name] = "property is missing and it is not optional";
            }
        }
        return errors;
    }

    private static JsonElement? Find(JsonElement props, string name)
    {
        if (props.ValueKind != JsonValueKind.Object) return null;
        if (props.TryGetProperty(name, out var exact)) return exact;
        var m = Regex.Match(name, @"^([a-z\-]+)(\d+)$");
        return m.Success && props.TryGetProperty(m.Groups[1].Value + "[n]", out var indexed) ? indexed : null;
    }

    private static string? Check(JsonElement prop, string value)
    {
        var type = prop.TryGetProperty("type", out var t) ? t.GetString() : "string";
        switch (type)
        {
            case "boolean":
                if (value is not ("0" or "1")) return $"type check ('boolean') failed - got '{value}'";
                break;
            case "integer":
                if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
                    return $"type check ('integer') failed - got '{value}'";
                if (prop.TryGetProperty("minimum", out var min) && i < min.GetDouble()) return $"value must have a minimum value of {min.GetRawText()}";
                if (prop.TryGetProperty("maximum", out var max) && i > max.GetDouble()) return $"value must have a maximum value of {max.GetRawText()}";
                break;
            case "number":
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                    return $"type check ('number') failed - got '{value}'";
                if (prop.TryGetProperty("minimum", out var nmin) && d < nmin.GetDouble()) return $"value must have a minimum value of {nmin.GetRawText()}";
                if (prop.TryGetProperty("maximum", out var nmax) && d > nmax.GetDouble()) return $"value must have a maximum value of {nmax.GetRawText()}";
                break;
            default:
                if (prop.TryGetProperty("enum", out var en) && !en.EnumerateArray().Any(e => e.GetString() == value))
                    return $"value '{value}' does not have a value in the enumeration '{string.Join(", ", en.EnumerateArray().Select(e => e.GetString()))}'";
                if (prop.TryGetProperty("maxLength", out var ml) && value.Length > ml.GetInt32())
                    return $"value may only be {ml.GetInt32()} characters long";
                if (prop.TryGetProperty("pattern", out var pat) && pat.GetString() is { } rx && !rx.StartsWith("(?^", StringComparison.Ordinal)
                    && !Regex.IsMatch(value, "^(?:" + rx + ")$"))
                    return "value does not match the regex pattern";
                var format = prop.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
                if (format == "dns-name" && !DnsName().IsMatch(value)) return "invalid format - value does not look like a valid DNS name";
                if (format == "urlencoded" && !UrlEncoded().IsMatch(value)) return $"invalid format - invalid urlencoded string: {value}";
                if (format == "pve-node" && !DnsName().IsMatch(value)) return $"invalid format - value does not look like a valid node name";
                break;
        }
        return null;
    }

    /// <summary>
    /// Evaluates the endpoint's <c>permissions.check</c>; returns the "path, priv" text of the first failed
    /// check, or null when allowed. <paramref name="denied"/> tells whether a privilege on an ACL path is missing.
    /// </summary>
    public string? CheckPermission(string method, string template, IReadOnlyDictionary<string, string> parameters, Func<string, string, bool> denied)
    {
        if (!_endpoints.TryGetValue(method + " " + template, out var schema)) return null;
        if (!schema.TryGetProperty("permissions", out var perms) || !perms.TryGetProperty("check", out var check)) return null;
        return Evaluate(check, parameters, denied);
    }

    private static string? Evaluate(JsonElement check, IReadOnlyDictionary<string, string> parameters, Func<string, string, bool> denied)
    {
        if (check.ValueKind != JsonValueKind.Array || check.GetArrayLength() == 0) return null;
        var op = check[0].GetString();
        switch (op)
        {
            case "perm":
                var path = Resolve(check[1].GetString(), parameters);
                if (path.Contains('{')) return null; // optional parameter absent (e.g. pool): the branch does not apply
                var privs = check[2].EnumerateArray().Select(x => x.GetString()!).ToList();
                var any = check.GetArrayLength() > 3 && check[3].GetString() == "any";
                var ok = any ? privs.Any(pr => !denied(path, pr)) : privs.All(pr => !denied(path, pr));
                return ok ? null : $"{path}, {string.Join('|', any ? privs : privs.Where(pr => denied(path, pr)))}";
            case "and":
                foreach (var sub in check.EnumerateArray().Skip(1))
                    if (Evaluate(sub, parameters, denied) is { } failed) return failed;
                return null;
            case "or":
                string? first = null;
                foreach (var sub in check.EnumerateArray().Skip(1))
                {
                    if (sub[0].GetString() == "perm" && Resolve(sub[1].GetString(), parameters).Contains('{')) continue;
                    var r = Evaluate(sub, parameters, denied);
                    if (r is null) return null;
                    first ??= r;
                }
                return first;
            default:
                return null;
        }
    }

    private static string Resolve(string? template, IReadOnlyDictionary<string, string> parameters) =>
        Regex.Replace(template ?? "/", @"\{(\w+)\}", m => parameters.GetValueOrDefault(m.Groups[1].Value, m.Value));
}
