using System.Globalization;
using InfraRelocation.Core.Yaml;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Estate.Readers;

/// <summary>The file being read and the schema findings collected while reading it.</summary>
public sealed class ReadContext
{
    public ReadContext(string file, List<RelocationFinding>? findings = null)
    {
        File = file;
        Findings = findings ?? [];
    }

    /// <summary>Path of the file relative to the estate root.</summary>
    public string File { get; }
    public List<RelocationFinding> Findings { get; }

    public SourceLocation At(YNode node) => new(File, node.Line, node.Column);

    public void Report(string ruleId, YNode? node, string path, string message, string? subject = null,
        string? expected = null, string? actual = null, FindingSeverity severity = FindingSeverity.Error) =>
        Findings.Add(RelocationFinding.Of(severity, ruleId, message, node is null ? new SourceLocation(File, 1, 1) : At(node), path, subject,
            expected: expected, actual: actual));

    /// <summary>Reads the root of a document as a mapping; anything else is a finding and reads as empty.</summary>
    public Fields Root(YNode? root) => Fields.Of(this, root, "", "the document");

    /// <summary>Each item of a list (a missing or null list is empty; a non-list is a finding).</summary>
    public IEnumerable<(YNode Node, int Index, string Path)> Items(YNode? node, string path)
    {
        if (node is null || node is YScalar { IsNull: true })
        {
            yield break;
        }
        if (node is not YSequence sequence)
        {
            Report("SCHEMA.WrongType", node, path, $"{path} must be a list, found {node.Describe}.", expected: "list", actual: node.Describe);
            yield break;
        }
        for (var i = 0; i < sequence.Items.Count; i++)
        {
            yield return (sequence.Items[i], i, $"{path}[{i}]");
        }
    }

    /// <summary>Each entry of a mapping keyed by id (a missing or null mapping is empty; a non-mapping is a finding).</summary>
    public IEnumerable<(YScalar Key, YNode Value, string Path)> Entries(YNode? node, string path)
    {
        if (node is null || node is YScalar { IsNull: true })
        {
            yield break;
        }
        if (node is not YMapping mapping)
        {
            Report("SCHEMA.WrongType", node, path, $"{path} must be a mapping, found {node.Describe}.", expected: "mapping", actual: node.Describe);
            yield break;
        }
        foreach (var (key, value) in mapping.Entries)
        {
            yield return (key, value, path.Length == 0 ? key.Value : $"{path}.{key.Value}");
        }
    }

    /// <summary>Reports every value seen more than once (by <paramref name="key"/>) as a duplicate.</summary>
    public void Duplicates<T>(IEnumerable<T> entries, Func<T, string?> key, string ruleId, string what, string listPath, string field)
        where T : ModelEntry
    {
        var seen = new Dictionary<string, T>(StringComparer.Ordinal);
        var index = 0;
        foreach (var entry in entries)
        {
            var value = key(entry);
            if (!string.IsNullOrEmpty(value))
            {
                if (seen.TryGetValue(value, out var first))
                {
                    Findings.Add(RelocationFinding.Error(ruleId, $"Duplicate {what} '{value}': also at {first.LocationOf(field)}.",
                        entry.LocationOf(field), $"{listPath}[{index}].{field}", value, related: first.LocationOf(field)));
                }
                else
                {
                    seen[value] = entry;
                }
            }
            index++;
        }
    }
}

/// <summary>
/// Typed access to one mapping's fields. Each accessor reads a value of one type, records where it was
/// read, and reports a <c>SCHEMA.*</c> finding (wrong type, missing) instead of throwing. Keys never read
/// end up in <see cref="Extra"/>.
/// </summary>
public sealed class Fields
{
    private static readonly IReadOnlyDictionary<string, object?> s_noExtra = new Dictionary<string, object?>();
    private static readonly IReadOnlyDictionary<string, SourceLocation> s_noLocations = new Dictionary<string, SourceLocation>();
    private readonly ReadContext _context;
    private readonly YMapping? _map;
    private readonly YNode? _node;
    private FieldLocationMap? _locations;
    // Which entries were read: a bit per entry for the usual small mapping, a set beyond 64 entries.
    private ulong _usedMask;
    private HashSet<int>? _usedMore;
    private int _usedCount;

    private Fields(ReadContext context, YMapping? map, YNode? node, string path)
    {
        _context = context;
        _map = map;
        _node = node;
        Path = path;
    }

    /// <summary>
    /// Reads <paramref name="node"/> as a mapping. A missing node reads as empty; anything else that is
    /// not a mapping is reported (as <paramref name="what"/>) and reads as empty.
    /// </summary>
    public static Fields Of(ReadContext context, YNode? node, string path, string what)
    {
        if (node is YMapping map)
        {
            return new Fields(context, map, node, path);
        }
        if (node is not null && node is not YScalar { IsNull: true })
        {
            context.Report("SCHEMA.WrongType", node, path.Length == 0 ? "$" : path,
                $"{Capital(what)} must be a mapping, found {node.Describe}.", expected: "mapping", actual: node.Describe);
        }
        return new Fields(context, null, node, path);
    }

    public ReadContext Context => _context;
    public string Path { get; }
    public bool Exists => _map is not null;
    /// <summary>The node was present but an explicit null.</summary>
    public bool IsNull => _node is YScalar { IsNull: true };

    public SourceLocation Location => _node is null ? new SourceLocation(_context.File, 1, 1) : _context.At(_node);

    public IReadOnlyDictionary<string, SourceLocation> Locations =>
        (IReadOnlyDictionary<string, SourceLocation>?)_locations ?? s_noLocations;

    public string PathOf(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>The raw node of a field (marked as read, location recorded); null when absent.</summary>
    public YNode? Node(string key)
    {
        var at = _map?.IndexOf(key) ?? -1;
        if (at < 0)
        {
            return null;
        }
        var node = _map!.Entries[at].Value;
        MarkUsed(at);
        (_locations ??= new FieldLocationMap(_context.File, Math.Min(_map.Count, 16))).Set(key, node.Line, node.Column);
        return node;
    }

    private void MarkUsed(int at)
    {
        if (IsUsed(at))
        {
            return;
        }
        _usedCount++;
        if (at < 64)
        {
            _usedMask |= 1UL << at;
        }
        else
        {
            (_usedMore ??= []).Add(at);
        }
    }

    private bool IsUsed(int at) => at < 64 ? (_usedMask & (1UL << at)) != 0 : _usedMore?.Contains(at) == true;

    /// <summary>A scalar field's node, or null when absent or null; a missing required field is reported.</summary>
    private YScalar? Scalar(string key, bool required, string expected, FindingSeverity severity = FindingSeverity.Error)
    {
        var node = Node(key);
        if (node is null || node is YScalar { IsNull: true })
        {
            if (required)
            {
                _context.Report("SCHEMA.MissingField", node ?? _node, PathOf(key),
                    $"Required field '{PathOf(key)}' is {(node is null ? "missing" : "null")}.", expected: expected);
            }
            return null;
        }
        if (node is not YScalar scalar)
        {
            _context.Report("SCHEMA.WrongType", node, PathOf(key), $"{PathOf(key)} must be {expected}, found {node.Describe}.",
                expected: expected, actual: node.Describe, severity: severity);
            return null;
        }
        return scalar;
    }

    public string? Str(string key, bool required = false) => Scalar(key, required, "a string")?.Value;

    public int? Int(string key, bool required = false, FindingSeverity severity = FindingSeverity.Error)
    {
        var scalar = Scalar(key, required, "an integer", severity);
        if (scalar is null)
        {
            return null;
        }
        if (int.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }
        WrongType(scalar, key, "an integer", severity);
        return null;
    }

    public double? Num(string key, bool required = false)
    {
        var scalar = Scalar(key, required, "a number");
        if (scalar is null)
        {
            return null;
        }
        if (double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
        {
            return value;
        }
        WrongType(scalar, key, "a number");
        return null;
    }

    /// <summary>A boolean: plain <c>true</c> or <c>false</c> (any case). Quoted strings and yes/no are wrong types.</summary>
    public bool? Bool(string key, bool required = false)
    {
        var scalar = Scalar(key, required, "true or false");
        if (scalar is null)
        {
            return null;
        }
        if (scalar.IsPlain && bool.TryParse(scalar.Value, out var value))
        {
            return value;
        }
        WrongType(scalar, key, "true or false");
        return null;
    }

    /// <summary>A date-time string (ISO-8601; a date alone or no zone means UTC). Unparseable dates are reported.</summary>
    public string? Date(string key, out DateTimeOffset? parsed, bool required = false)
    {
        parsed = null;
        var scalar = Scalar(key, required, "an ISO-8601 date");
        if (scalar is null)
        {
            return null;
        }
        if (DateTimeOffset.TryParse(scalar.Value, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value) &&
            scalar.Value.Length >= 8 && char.IsDigit(scalar.Value[0]))
        {
            parsed = value;
        }
        else
        {
            _context.Report("SCHEMA.InvalidDate", scalar, PathOf(key),
                $"{PathOf(key)} is not a date: '{scalar.Value}'. Use ISO-8601, e.g. 2026-05-09T23:59:59Z.",
                expected: "ISO-8601 date", actual: scalar.Value);
        }
        return scalar.Value;
    }

    /// <summary>An enum value spelled exactly as one of <paramref name="values"/>' keys (case-sensitive).</summary>
    public T? Enum<T>(string key, IReadOnlyDictionary<string, T> values, out string? text, bool required = false, string? subject = null)
        where T : struct
    {
        var expected = ExpectedOf(values);
        var scalar = Scalar(key, required: false, expected);
        text = scalar?.Value;
        if (scalar is null)
        {
            var node = _map?.IndexOf(key) is >= 0 and var at ? _map.Entries[at].Value : null;
            if (required && node is null or YScalar { IsNull: true })
            {
                _context.Report("SCHEMA.MissingField", node ?? _node, PathOf(key),
                    $"Required field '{PathOf(key)}' is {(node is null ? "missing" : "null")}.", subject, expected);
            }
            return null;
        }
        if (values.TryGetValue(scalar.Value, out var value))
        {
            return value;
        }
        _context.Report("SCHEMA.UnknownEnumValue", scalar, PathOf(key),
            $"{PathOf(key)} has the unknown value '{scalar.Value}'; expected {expected}.", subject, expected, scalar.Value);
        return null;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, string> s_expected = new();

    private static string ExpectedOf<T>(IReadOnlyDictionary<string, T> values) =>
        s_expected.GetValue(values, v => "one of " + string.Join(", ", ((IReadOnlyDictionary<string, T>)v).Keys));

    /// <summary>A list of strings; null when absent or null. A single scalar is reported as a wrong type.</summary>
    public IReadOnlyList<string>? StrList(string key)
    {
        var node = Node(key);
        if (node is null || node is YScalar { IsNull: true })
        {
            return null;
        }
        if (node is not YSequence sequence)
        {
            _ = _context.Items(node, PathOf(key)).Any(); // not a list: Items reports it
            return new List<string>();
        }
        // Straight over the items: an item's path is spelled only for a finding (most lists are long and clean).
        var list = new List<string>(sequence.Items.Count);
        for (var i = 0; i < sequence.Items.Count; i++)
        {
            var item = sequence.Items[i];
            if (item is YScalar { IsNull: false } scalar)
            {
                list.Add(scalar.Value);
            }
            else
            {
                var path = $"{PathOf(key)}[{i}]";
                _context.Report("SCHEMA.WrongType", item, path, $"{path} must be a string, found {item.Describe}.",
                    expected: "a string", actual: item.Describe);
            }
        }
        return list;
    }

    /// <summary>A nested mapping's fields (absent reads as empty).</summary>
    public Fields Map(string key) => Of(_context, Node(key), PathOf(key), PathOf(key));

    /// <summary>Copies location, field locations and unknown fields onto an entry.</summary>
    public T Finish<T>(T entry) where T : ModelEntry =>
        (T)((ModelEntry)entry with { Location = Location, FieldLocations = Locations, Extra = Extra() });

    /// <summary>Fields present but not read: kept as plain values (string, list, dictionary).</summary>
    public IReadOnlyDictionary<string, object?> Extra()
    {
        if (_map is null || _map.Count == _usedCount)
        {
            return s_noExtra;
        }
        var extra = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < _map.Count; i++)
        {
            if (!IsUsed(i))
            {
                var (key, value) = _map.Entries[i];
                extra[key.Value] = ToPlain(value);
            }
        }
        return extra;
    }

    public static object? ToPlain(YNode node) => node switch
    {
        YScalar scalar => scalar.IsNull ? null : scalar.Value,
        YSequence sequence => sequence.Items.Select(ToPlain).ToList(),
        YMapping mapping => mapping.Entries.ToDictionary(e => e.Key.Value, e => ToPlain(e.Value), StringComparer.Ordinal),
        _ => null,
    };

    private void WrongType(YScalar scalar, string key, string expected, FindingSeverity severity = FindingSeverity.Error) =>
        _context.Report("SCHEMA.WrongType", scalar, PathOf(key),
            $"{PathOf(key)} must be {expected}, found {scalar.Describe}.", expected: expected, actual: scalar.Value, severity: severity);

    private static string Capital(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
