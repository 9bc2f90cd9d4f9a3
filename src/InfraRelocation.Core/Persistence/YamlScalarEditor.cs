using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using InfraRelocation.Core.Yaml;
using YamlDotNet.Core;

namespace InfraRelocation.Core.Persistence;

/// <summary>
/// Replaces scalar values in a YAML file without touching any other byte: comments, key order, quoting
/// style, blank lines, indentation, line endings and a UTF-8 BOM stay as they were (lesson 16: <c>yq -i</c>
/// reformatted the manifest). Spans come from the located YAML tree (<see cref="LocatedYamlReader"/>); only the
/// value bytes are rewritten. Every edit is verified: the result is read again and must equal the original
/// document except the targeted values, which must read back as exactly the new values; otherwise nothing is
/// returned (<c>YamlEditUnverified</c>).
/// </summary>
public static partial class YamlScalarEditor
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Applies <paramref name="edits"/> to <paramref name="content"/> (one YAML document, UTF-8).
    /// <paramref name="fileLabel"/> (the path relative to the estate root) is used in locations and the diff.
    /// Throws <see cref="RelocationException"/> (nothing is returned, nothing changes) when a path is missing,
    /// ambiguous, not a scalar, or a compare-and-swap expectation fails.
    /// </summary>
    public static YamlEditResult Apply(byte[] content, IEnumerable<YamlEdit> edits, string fileLabel, LocatedTrees? trees = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(edits);
        var (bom, text) = Decode(content, fileLabel);
        var root = ParseDocument(text, fileLabel, trees);
        var eol = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";

        var replacements = new List<Replacement>();
        var oldValues = new List<string?>();
        var intended = new Intended();
        var order = 0;
        foreach (var edit in edits)
        {
            var target = Resolve(root, edit.Path, fileLabel);
            var current = target.Node is { } n ? ScalarValueOrNull(n) : null;
            CheckExpectation(edit, current, target, fileLabel);
            oldValues.Add(current);
            var replacement = target.Node is null
                ? BuildInsertion(text, target, edit, eol, fileLabel)
                : BuildReplacement(text, target.Node, edit, fileLabel);
            if (replacement is not null)
            {
                replacements.Add(replacement with { Order = order++ });
                intended.Add(target, edit);
            }
        }

        replacements.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Order.CompareTo(b.Order));
        for (var i = 1; i < replacements.Count; i++)
        {
            if (replacements[i].Start < replacements[i - 1].End ||
                (replacements[i].Start == replacements[i - 1].Start && replacements[i].End > replacements[i].Start))
            {
                throw new RelocationException("YamlEditConflict", FailureKind.InvalidArgument,
                    $"Two edits change the same value in {fileLabel}.", LocationOf(text, replacements[i].Start, fileLabel));
            }
        }

        var newText = ApplyReplacements(text, replacements);
        if (replacements.Count > 0)
        {
            Verify(root, newText, intended, fileLabel, trees);
        }
        var changed = !string.Equals(newText, text, StringComparison.Ordinal);
        var bytes = changed ? Encode(bom, newText) : (byte[])content.Clone();
        var diff = changed ? UnifiedDiff.FromReplacements(text, replacements, fileLabel) : string.Empty;
        return new YamlEditResult(bytes, diff, changed, oldValues);
    }

    /// <summary>
    /// Reads the scalar at <paramref name="path"/>: its value, or null when the key is missing or the value is null.
    /// Throws when an intermediate node is missing or the node is not a scalar.
    /// </summary>
    public static string? ReadScalar(byte[] content, string path, string fileLabel)
    {
        var (_, text) = Decode(content, fileLabel);
        var target = Resolve(ParseDocument(text, fileLabel), path, fileLabel);
        return target.Node is null ? null : ScalarValueOrNull(target.Node);
    }

    // ---------------------------------------------------------------- decoding and parsing

    private static (bool Bom, string Text) Decode(byte[] content, string fileLabel)
    {
        var bom = content.Length >= 3 && content[0] == 0xEF && content[1] == 0xBB && content[2] == 0xBF;
        return (bom, LocatedYamlReader.Decode(content, fileLabel, sha256: "").Text);
    }

    private static byte[] Encode(bool bom, string text)
    {
        var body = StrictUtf8.GetBytes(text);
        if (!bom)
        {
            return body;
        }
        var result = new byte[body.Length + 3];
        result[0] = 0xEF; result[1] = 0xBB; result[2] = 0xBF;
        body.CopyTo(result, 3);
        return result;
    }

    /// <summary>The one located tree of the document (aliases kept as nodes; a stage's trees reused); refuses an empty file.</summary>
    private static YNode ParseDocument(string text, string fileLabel, LocatedTrees? trees = null) =>
        (trees is null ? LocatedYamlReader.Parse(text, fileLabel, allowAliases: true) : trees.Parse(text, fileLabel, allowAliases: true)) ??
        throw new RelocationException("YamlEmptyDocument", FailureKind.InvalidData,
            $"{fileLabel} holds no YAML document.", new SourceLocation(fileLabel, 1, 1), fileLabel);

    // ---------------------------------------------------------------- paths

    private abstract record Segment(string Text);
    private sealed record KeySegment(string Key) : Segment(Key);
    private sealed record IndexSegment(int Index) : Segment($"[{Index}]");
    private sealed record SelectSegment(string Key, string Value) : Segment($"[?{Key}={Value}]");

    private static List<Segment> ParsePath(string path)
    {
        var segments = new List<Segment>();
        var i = 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                if (segments.Count == 0 || i + 1 >= path.Length || path[i + 1] is '.' or '[')
                {
                    throw BadPath(path);
                }
                i++;
            }
            if (path[i] == '[')
            {
                var close = path.IndexOf(']', i);
                if (close < 0)
                {
                    throw BadPath(path);
                }
                var inner = path[(i + 1)..close];
                if (inner.StartsWith('?'))
                {
                    var eq = inner.IndexOf('=');
                    if (eq < 2)
                    {
                        throw BadPath(path);
                    }
                    segments.Add(new SelectSegment(inner[1..eq].Trim(), inner[(eq + 1)..].Trim().Trim('\'', '"')));
                }
                else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    segments.Add(new IndexSegment(index));
                }
                else
                {
                    throw BadPath(path);
                }
                i = close + 1;
                continue;
            }
            var start = i;
            while (i < path.Length && path[i] is not '.' and not '[')
            {
                i++;
            }
            if (i == start)
            {
                throw BadPath(path);
            }
            segments.Add(new KeySegment(path[start..i]));
        }
        if (segments.Count == 0)
        {
            throw BadPath(path);
        }
        return segments;
    }

    private static RelocationException BadPath(string path) =>
        new("YamlPathInvalid", FailureKind.InvalidArgument,
            $"'{path}' is not a valid document path (expected e.g. a.b, items[2].c or items[?name=x].c).", target: path);

    private sealed record Target(YScalar? Node, YNode Parent, string? MissingKey, string Path);

    private static Target Resolve(YNode root, string path, string fileLabel)
    {
        var segments = ParsePath(path);
        var current = root;
        YMapping? parent = null;
        var walked = new StringBuilder();
        for (var s = 0; s < segments.Count; s++)
        {
            var segment = segments[s];
            var isLast = s == segments.Count - 1;
            var where = walked.Length == 0 ? "the document root" : $"'{walked}'";
            switch (segment)
            {
                case KeySegment key:
                {
                    if (current is not YMapping mapping)
                    {
                        throw NotFound(path, $"{where} is not a mapping, so it has no key '{key.Key}'", current, fileLabel);
                    }
                    if (!mapping.TryGet(key.Key, out var value))
                    {
                        if (isLast)
                        {
                            return new Target(null, mapping, key.Key, path);
                        }
                        throw NotFound(path, $"{where} has no key '{key.Key}'", current, fileLabel);
                    }
                    parent = mapping;
                    current = value;
                    walked.Append(walked.Length == 0 ? "" : ".").Append(key.Key);
                    break;
                }
                case IndexSegment index:
                    if (current is not YSequence sequence)
                    {
                        throw NotFound(path, $"{where} is not a sequence", current, fileLabel);
                    }
                    if (index.Index >= sequence.Items.Count)
                    {
                        throw NotFound(path, $"{where} has {sequence.Items.Count} item(s), no index {index.Index}", current, fileLabel);
                    }
                    current = sequence.Items[index.Index];
                    walked.Append(segment.Text);
                    break;
                case SelectSegment select:
                {
                    if (current is not YSequence list)
                    {
                        throw NotFound(path, $"{where} is not a sequence", current, fileLabel);
                    }
                    var matches = list.Items.Where(item => item is YMapping m && m[select.Key] is YScalar v && v.Value == select.Value).ToList();
                    if (matches.Count == 0)
                    {
                        throw NotFound(path, $"{where} has no item with {select.Key} = '{select.Value}'", current, fileLabel);
                    }
                    if (matches.Count > 1)
                    {
                        throw new RelocationException("YamlPathAmbiguous", FailureKind.InvalidData,
                            $"{where} has {matches.Count} items with {select.Key} = '{select.Value}' (path '{path}'); lines " +
                            string.Join(", ", matches.Select(m => m.Line)) + ".",
                            new SourceLocation(fileLabel, matches[1].Line, matches[1].Column), path);
                    }
                    current = matches[0];
                    walked.Append(segment.Text);
                    break;
                }
            }
        }
        if (current is not YScalar scalar)
        {
            throw new RelocationException("YamlPathNotScalar", FailureKind.InvalidArgument,
                $"'{path}' in {fileLabel} is {current.Describe}, not a scalar value.",
                new SourceLocation(fileLabel, current.Line, current.Column), path);
        }
        if (scalar.Style is ScalarStyle.Literal or ScalarStyle.Folded)
        {
            throw new RelocationException("YamlEditUnsupported", FailureKind.InvalidArgument,
                $"'{path}' in {fileLabel} is a block scalar (| or >); editing block scalars is not supported.",
                new SourceLocation(fileLabel, scalar.Line, scalar.Column), path);
        }
        return new Target(scalar, (YNode?)parent ?? scalar, null, path);
    }

    private static RelocationException NotFound(string path, string why, YNode near, string fileLabel) =>
        new("YamlPathNotFound", FailureKind.ObjectNotFound, $"'{path}' does not exist in {fileLabel}: {why}.",
            new SourceLocation(fileLabel, near.Line, near.Column), path);

    private static bool IsNullToken(string value) => value is "" or "~" or "null" or "Null" or "NULL";

    private static string? ScalarValueOrNull(YScalar n) => n.IsNull ? null : n.Value;

    private static void CheckExpectation(YamlEdit edit, string? current, Target target, string fileLabel)
    {
        if (edit.Expected is null)
        {
            return;
        }
        var ok = edit.Expected == YamlEdit.ExpectAbsent ? current is null : string.Equals(current, edit.Expected, StringComparison.Ordinal);
        if (!ok)
        {
            var node = target.Node ?? target.Parent;
            throw new RelocationException("EstateValueChanged", FailureKind.InvalidOperation,
                $"'{edit.Path}' in {fileLabel} is {Describe(current)}, expected {(edit.Expected == YamlEdit.ExpectAbsent ? "no value" : Describe(edit.Expected))}; " +
                "it was changed since the decision was made. Re-run to re-evaluate.",
                new SourceLocation(fileLabel, node.Line, node.Column), edit.Path);
        }
    }

    private static string Describe(string? value) => value is null ? "null" : $"'{value}'";

    // ---------------------------------------------------------------- rendering

    internal sealed record Replacement(int Start, int End, string Text, int Order = 0);

    private static Replacement? BuildReplacement(string text, YScalar node, YamlEdit edit, string fileLabel)
    {
        var start = node.Start;
        // Keep an anchor (&a) or tag (!t) in front of the value, on its line.
        while (start < text.Length && text[start] is '&' or '!' && (node.Anchor is not null || node.Tag is not null))
        {
            while (start < text.Length && !char.IsWhiteSpace(text[start])) start++;
            while (start < text.Length && text[start] is ' ' or '\t') start++;
        }
        // An empty value is written where it would start; the verification refuses a place that reads otherwise.
        var isEmpty = node.IsPlain && node.Value.Length == 0;
        var end = isEmpty ? start : node.End;
        string rendered;
        switch (edit.Kind)
        {
            case YamlValueKind.Null:
                if (node.IsNull)
                {
                    return null;
                }
                rendered = "null";
                break;
            case YamlValueKind.Literal:
                RequireLiteral(edit, node.InFlow, fileLabel, node);
                if (node.Style == ScalarStyle.Plain && node.Value == edit.Value)
                {
                    return null;
                }
                rendered = edit.Value!;
                break;
            default:
                var value = edit.Value ?? throw new ArgumentException($"Edit of '{edit.Path}' has no value.", nameof(edit));
                var currentIsString = node.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted ||
                                      (node.Style == ScalarStyle.Plain && !isEmpty && ResolvesAsString(node.Value));
                if (currentIsString && node.Value == value)
                {
                    return null;
                }
                // A plain number/bool replaced by another plain number/bool keeps its type (retries: 3 -> 4).
                var keepsNonStringType = node.Style == ScalarStyle.Plain && !isEmpty && !node.IsNull && !currentIsString &&
                                         !ResolvesAsString(value) && !IsNullToken(value) && IsPlainSafe(value, node.InFlow);
                rendered = keepsNonStringType ? value : RenderString(value, node.Style, node.InFlow);
                break;
        }
        if (isEmpty && start > 0 && !char.IsWhiteSpace(text[start - 1]))
        {
            rendered = " " + rendered;
        }
        return new Replacement(start, end, rendered);
    }

    private static Replacement BuildInsertion(string text, Target target, YamlEdit edit, string eol, string fileLabel)
    {
        var mapping = (YMapping)target.Parent;
        var key = RenderString(target.MissingKey!, ScalarStyle.Plain, mapping.Flow || mapping.InFlow);
        string value;
        switch (edit.Kind)
        {
            case YamlValueKind.Null:
                value = "null";
                break;
            case YamlValueKind.Literal:
                RequireLiteral(edit, mapping.Flow || mapping.InFlow, fileLabel, mapping);
                value = edit.Value!;
                break;
            default:
                value = RenderString(edit.Value ?? throw new ArgumentException($"Edit of '{edit.Path}' has no value.", nameof(edit)),
                    ScalarStyle.Plain, mapping.Flow || mapping.InFlow);
                break;
        }

        if (mapping.Flow)
        {
            var pos = mapping.Count == 0 ? mapping.Start + 1 : mapping.Entries[^1].Value.End;
            var close = text.IndexOf('}', pos);
            if (close < 0)
            {
                close = mapping.End - 1;
            }
            var last = close - 1;
            while (last > mapping.Start && char.IsWhiteSpace(text[last])) last--;
            var insertAt = last + 1;
            if (text[last] == '{')
            {
                return new Replacement(insertAt, insertAt, (close > insertAt ? " " : "") + $"{key}: {value}");
            }
            return new Replacement(insertAt, insertAt, $", {key}: {value}");
        }

        var indent = new string(' ', mapping.Entries[0].Key.Column - 1);
        var end = mapping.End;
        if (end > 0 && text[end - 1] == '\n')
        {
            // The last value ended with its line break (block scalar): insert a whole line there.
            return new Replacement(end, end, $"{indent}{key}: {value}{eol}");
        }
        var lineEnd = text.IndexOf('\n', end);
        if (lineEnd < 0)
        {
            return new Replacement(text.Length, text.Length, $"{eol}{indent}{key}: {value}");
        }
        if (lineEnd > 0 && text[lineEnd - 1] == '\r')
        {
            lineEnd--;
        }
        return new Replacement(lineEnd, lineEnd, $"{eol}{indent}{key}: {value}");
    }

    private static void RequireLiteral(YamlEdit edit, bool inFlow, string fileLabel, YNode near)
    {
        if (string.IsNullOrEmpty(edit.Value) || !IsPlainSafe(edit.Value, inFlow))
        {
            throw new RelocationException("YamlLiteralInvalid", FailureKind.InvalidArgument,
                $"'{edit.Value}' cannot be written as a plain YAML token at '{edit.Path}'.",
                new SourceLocation(fileLabel, near.Line, near.Column), edit.Value);
        }
    }

    /// <summary>Renders a string keeping the existing style when it can represent the value.</summary>
    internal static string RenderString(string value, ScalarStyle existing, bool inFlow)
    {
        var printable = value.All(c => c >= ' ' && c is not ('\u007f' or '\u0085' or '\u2028' or '\u2029' or '\ufeff'));
        switch (existing)
        {
            case ScalarStyle.DoubleQuoted:
                return DoubleQuote(value);
            case ScalarStyle.SingleQuoted:
                return printable ? SingleQuote(value) : DoubleQuote(value);
            default:
                if (printable && IsPlainSafe(value, inFlow) && ResolvesAsString(value))
                {
                    return value;
                }
                return printable ? SingleQuote(value) : DoubleQuote(value);
        }
    }

    private static string SingleQuote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string DoubleQuote(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\0': sb.Append("\\0"); break;
                default:
                    if (c < ' ' || c == '\u007f' || c is '\u0085' or '\u2028' or '\u2029' or '\ufeff')
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>True when <paramref name="value"/> can be written as a plain scalar and read back unchanged.</summary>
    internal static bool IsPlainSafe(string value, bool inFlow)
    {
        if (value.Length == 0 || char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]))
        {
            return false;
        }
        foreach (var c in value)
        {
            if (c < ' ' || c == '\u007f' || c is '\u0085' or '\u2028' or '\u2029' or '\ufeff' || c == '\t')
            {
                return false;
            }
            if (inFlow && c is ',' or '[' or ']' or '{' or '}')
            {
                return false;
            }
        }
        var first = value[0];
        if (first is ',' or '[' or ']' or '{' or '}' or '#' or '&' or '*' or '!' or '|' or '>' or '\'' or '"' or '%' or '@' or '`')
        {
            return false;
        }
        if (first is '-' or '?' or ':' && (value.Length == 1 || char.IsWhiteSpace(value[1]) || (inFlow && value[1] is ',' or '[' or ']' or '{' or '}')))
        {
            return false;
        }
        if (value.StartsWith("---", StringComparison.Ordinal) || value.StartsWith("...", StringComparison.Ordinal))
        {
            return false;
        }
        return !value.Contains(": ", StringComparison.Ordinal) && !value.Contains(" #", StringComparison.Ordinal) && !value.EndsWith(':');
    }

    /// <summary>True when a plain scalar with this text is a string (not null, bool or number) under YAML 1.1 or 1.2 rules.</summary>
    internal static bool ResolvesAsString(string value) => !NonStringPlain().IsMatch(value);

    [GeneratedRegex(@"^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|" +
                    @"[-+]?[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?|" +
                    @"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|<<|=)$")]
    private static partial Regex NonStringPlain();

    // ---------------------------------------------------------------- verifying

    /// <summary>What the edits mean to change: values replaced in place, keys added to mappings (in order).</summary>
    private sealed class Intended
    {
        public Dictionary<YNode, YamlEdit> Replaced { get; } = new(ReferenceEqualityComparer.Instance);
        public Dictionary<YNode, List<(string Key, YamlEdit Edit)>> Added { get; } = new(ReferenceEqualityComparer.Instance);

        public void Add(Target target, YamlEdit edit)
        {
            if (target.Node is not null)
            {
                Replaced[target.Node] = edit;
            }
            else if (Added.TryGetValue(target.Parent, out var keys))
            {
                keys.Add((target.MissingKey!, edit));
            }
            else
            {
                Added[target.Parent] = [(target.MissingKey!, edit)];
            }
        }
    }

    /// <summary>
    /// Reads the edited text and compares the whole document with the original: everything must be the same
    /// (structure, keys, values, styles, anchors, tags) except the targeted values, which must read back as
    /// exactly the new ones. Anything else (a value written into the next key, a key that changed) is refused.
    /// </summary>
    private static void Verify(YNode before, string newText, Intended intended, string fileLabel, LocatedTrees? trees)
    {
        YNode after;
        try
        {
            after = ParseDocument(newText, fileLabel, trees);
        }
        catch (RelocationException ex)
        {
            throw Unverified(fileLabel, before, $"the result is no longer valid YAML ({ex.Message})", ex);
        }
        Compare(before, after, "");

        void Compare(YNode b, YNode a, string path)
        {
            if (intended.Replaced.TryGetValue(b, out var edit))
            {
                if (!ReadsAs(a, edit) || a.Anchor != b.Anchor || a.Tag != b.Tag)
                {
                    throw Unverified(fileLabel, b, $"'{edit.Path}' would read as {a.Describe} instead of {Intent(edit)}");
                }
                return;
            }
            switch (b)
            {
                case YScalar bs when a is YScalar s && s.Value == bs.Value && s.Style == bs.Style && s.Anchor == bs.Anchor && s.Tag == bs.Tag:
                case YAlias ba when a is YAlias x && x.Name == ba.Name:
                    return;
                case YSequence bq when a is YSequence q && q.Items.Count == bq.Items.Count && q.Anchor == bq.Anchor && q.Tag == bq.Tag:
                    for (var i = 0; i < bq.Items.Count; i++)
                    {
                        Compare(bq.Items[i], q.Items[i], $"{path}[{i}]");
                    }
                    return;
                case YMapping bm when a is YMapping m && m.Anchor == bm.Anchor && m.Tag == bm.Tag:
                    var added = intended.Added.GetValueOrDefault(bm) ?? [];
                    if (m.Count != bm.Count + added.Count)
                    {
                        throw Unverified(fileLabel, b, $"'{Where(path)}' would hold {m.Count} keys instead of {bm.Count + added.Count}");
                    }
                    for (var i = 0; i < bm.Count; i++)
                    {
                        var key = bm.Entries[i].Key;
                        if (!SameScalar(key, m.Entries[i].Key))
                        {
                            throw Unverified(fileLabel, key, $"the key '{key.Value}' would read as '{m.Entries[i].Key.Value}'");
                        }
                        Compare(bm.Entries[i].Value, m.Entries[i].Value, path.Length == 0 ? key.Value : $"{path}.{key.Value}");
                    }
                    for (var i = 0; i < added.Count; i++)
                    {
                        var (key, value) = m.Entries[bm.Count + i];
                        if (key.Value != added[i].Key || !ReadsAs(value, added[i].Edit))
                        {
                            throw Unverified(fileLabel, b, $"the added '{added[i].Edit.Path}' would read as '{key.Value}: {value.Describe}' instead of {Intent(added[i].Edit)}");
                        }
                    }
                    return;
                default:
                    throw Unverified(fileLabel, b, $"'{Where(path)}' would read as {a.Describe} instead of {b.Describe}");
            }
        }

        static string Where(string path) => path.Length == 0 ? "the document root" : path;
        static bool SameScalar(YScalar x, YScalar y) => x.Value == y.Value && x.Style == y.Style && x.Anchor == y.Anchor && x.Tag == y.Tag;
    }

    private static bool ReadsAs(YNode node, YamlEdit edit) => node is YScalar s && edit.Kind switch
    {
        YamlValueKind.Null => s.IsNull,
        YamlValueKind.Literal => s.IsPlain && s.Value == edit.Value,
        _ => s.Value == edit.Value && !s.IsNull,
    };

    private static string Intent(YamlEdit edit) => edit.Kind == YamlValueKind.Null ? "null" : $"'{edit.Value}'";

    private static RelocationException Unverified(string fileLabel, YNode near, string why, Exception? inner = null) =>
        new("YamlEditUnverified", FailureKind.InvalidOperation,
            $"Refusing to edit {fileLabel}: {why}. Read back, the edited file must equal the original except the targeted values; " +
            "nothing was written. Edit this value by hand, or rewrite the entry in plain block style (key: value).",
            new SourceLocation(fileLabel, near.Line, near.Column), fileLabel, inner);

    // ---------------------------------------------------------------- applying

    private static string ApplyReplacements(string text, List<Replacement> replacements)
    {
        var sb = new StringBuilder(text.Length + 64);
        var pos = 0;
        foreach (var r in replacements)
        {
            sb.Append(text, pos, r.Start - pos).Append(r.Text);
            pos = r.End;
        }
        return sb.Append(text, pos, text.Length - pos).ToString();
    }

    private static SourceLocation LocationOf(string text, int index, string fileLabel)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < index && i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        return new SourceLocation(fileLabel, line, index - lineStart + 1);
    }
}
