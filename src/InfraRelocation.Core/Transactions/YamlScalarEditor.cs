using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace InfraRelocation.Core.Transactions;

/// <summary>
/// Replaces scalar values in a YAML file without touching any other byte: comments, key order, quoting
/// style, blank lines, indentation, line endings and a UTF-8 BOM stay as they were (lesson 16: <c>yq -i</c>
/// reformatted the manifest). Spans come from YamlDotNet's parser marks; only the value bytes are rewritten.
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
    public static YamlEditResult Apply(byte[] content, IEnumerable<YamlEdit> edits, string fileLabel)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(edits);
        var (bom, text) = Decode(content, fileLabel);
        var root = ParseSingleDocument(text, fileLabel);
        var eol = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";

        var replacements = new List<Replacement>();
        var oldValues = new List<string?>();
        var order = 0;
        foreach (var edit in edits)
        {
            var target = Resolve(root, edit.Path, fileLabel, text);
            var current = target.Node is { } n ? ScalarValueOrNull(n) : null;
            CheckExpectation(edit, current, target, fileLabel);
            oldValues.Add(current);
            var replacement = target.Node is null
                ? BuildInsertion(text, target, edit, eol, fileLabel)
                : BuildReplacement(text, target.Node, edit, fileLabel);
            if (replacement is not null)
            {
                replacements.Add(replacement with { Order = order++ });
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
            // Safety net: the result must still parse as one document.
            ParseSingleDocument(newText, fileLabel);
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
        var target = Resolve(ParseSingleDocument(text, fileLabel), path, fileLabel, text);
        return target.Node is null ? null : ScalarValueOrNull(target.Node);
    }

    // ---------------------------------------------------------------- decoding and parsing

    private static (bool Bom, string Text) Decode(byte[] content, string fileLabel)
    {
        var bom = content.Length >= 3 && content[0] == 0xEF && content[1] == 0xBB && content[2] == 0xBF;
        try
        {
            return (bom, StrictUtf8.GetString(content, bom ? 3 : 0, content.Length - (bom ? 3 : 0)));
        }
        catch (DecoderFallbackException ex)
        {
            throw new RelocationException("YamlNotUtf8", FailureKind.InvalidData,
                $"{fileLabel} is not valid UTF-8; refusing to edit it.", new SourceLocation(fileLabel, 1, 1), fileLabel, ex);
        }
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

    internal enum NodeKind { Scalar, Mapping, Sequence, Alias }

    internal sealed class Node
    {
        public NodeKind Kind;
        public int Start;
        public int End;
        public int Line;
        public int Column;
        public bool InFlow;
        public bool Flow;
        public ScalarStyle Style;
        public string Value = string.Empty;
        public bool Tagged;
        public int CloseIndex = -1;
        public List<(Node Key, Node Value)> Pairs = [];
        public List<Node> Items = [];
    }

    internal static Node ParseSingleDocument(string text, string fileLabel)
    {
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                throw new RelocationException("YamlEmptyDocument", FailureKind.InvalidData,
                    $"{fileLabel} holds no YAML document.", new SourceLocation(fileLabel, 1, 1), fileLabel);
            }
            parser.Consume<DocumentStart>();
            var root = ReadNode(parser, inFlow: false);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
            {
                throw new RelocationException("YamlMultipleDocuments", FailureKind.InvalidData,
                    $"{fileLabel} holds more than one YAML document; only single-document files can be edited.",
                    new SourceLocation(fileLabel, (int)second.Start.Line, (int)second.Start.Column), fileLabel);
            }
            return root;
        }
        catch (InvalidOperationException ex) when (ex.Source == "YamlDotNet")
        {
            // Some scanner errors surface as InvalidOperationException without a mark.
            throw new RelocationException("YamlParseError", FailureKind.ParserError,
                $"{fileLabel} is not valid YAML (the parser stopped: {ex.Message}).", new SourceLocation(fileLabel, 1, 1), fileLabel, ex);
        }
        catch (YamlException ex)
        {
            throw new RelocationException("YamlParseError", FailureKind.ParserError,
                $"{fileLabel} is not valid YAML: {ex.Message}",
                new SourceLocation(fileLabel, (int)ex.Start.Line, (int)ex.Start.Column), fileLabel, ex);
        }
    }

    private static Node ReadNode(IParser parser, bool inFlow)
    {
        var ev = parser.Current ?? throw new InvalidOperationException("Unexpected end of YAML stream.");
        var node = new Node { Start = (int)ev.Start.Index, Line = (int)ev.Start.Line, Column = (int)ev.Start.Column, InFlow = inFlow };
        switch (ev)
        {
            case Scalar s:
                parser.MoveNext();
                node.Kind = NodeKind.Scalar;
                node.End = (int)s.End.Index;
                node.Style = s.Style;
                node.Value = s.Value;
                node.Tagged = !s.Tag.IsEmpty || !s.Anchor.IsEmpty;
                return node;
            case AnchorAlias a:
                parser.MoveNext();
                node.Kind = NodeKind.Alias;
                node.End = (int)a.End.Index;
                return node;
            case MappingStart m:
            {
                parser.MoveNext();
                node.Kind = NodeKind.Mapping;
                node.Flow = m.Style == MappingStyle.Flow;
                while (!parser.Accept<MappingEnd>(out _))
                {
                    var key = ReadNode(parser, inFlow || node.Flow);
                    var value = ReadNode(parser, inFlow || node.Flow);
                    node.Pairs.Add((key, value));
                }
                var end = parser.Consume<MappingEnd>();
                node.CloseIndex = (int)end.Start.Index;
                node.End = node.Pairs.Count > 0 ? Math.Max(LastContentEnd(node), (int)end.End.Index) : (int)end.End.Index;
                return node;
            }
            case SequenceStart q:
            {
                parser.MoveNext();
                node.Kind = NodeKind.Sequence;
                node.Flow = q.Style == SequenceStyle.Flow;
                while (!parser.Accept<SequenceEnd>(out _))
                {
                    node.Items.Add(ReadNode(parser, inFlow || node.Flow));
                }
                var end = parser.Consume<SequenceEnd>();
                node.End = (int)end.End.Index;
                return node;
            }
            default:
                throw new InvalidOperationException($"Unexpected YAML event {ev.GetType().Name}.");
        }
    }

    /// <summary>End of the last bytes that belong to a node's content (block collection ends point past trailing blank lines).</summary>
    private static int LastContentEnd(Node node) => node.Kind switch
    {
        NodeKind.Mapping when node.Flow => node.CloseIndex + 1,
        NodeKind.Sequence when node.Flow => node.End,
        NodeKind.Mapping => node.Pairs.Count == 0 ? node.Start : Math.Max(LastContentEnd(node.Pairs[^1].Key), LastContentEnd(node.Pairs[^1].Value)),
        NodeKind.Sequence => node.Items.Count == 0 ? node.Start : LastContentEnd(node.Items[^1]),
        _ => node.End,
    };

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

    private sealed record Target(Node? Node, Node Parent, string? MissingKey, string Path);

    private static Target Resolve(Node root, string path, string fileLabel, string text)
    {
        var segments = ParsePath(path);
        var current = root;
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
                    if (current.Kind != NodeKind.Mapping)
                    {
                        throw NotFound(path, $"{where} is not a mapping, so it has no key '{key.Key}'", current, fileLabel);
                    }
                    var match = current.Pairs.FirstOrDefault(p => p.Key.Kind == NodeKind.Scalar && p.Key.Value == key.Key);
                    if (match.Value is null)
                    {
                        if (isLast)
                        {
                            return new Target(null, current, key.Key, path);
                        }
                        throw NotFound(path, $"{where} has no key '{key.Key}'", current, fileLabel);
                    }
                    current = match.Value;
                    walked.Append(walked.Length == 0 ? "" : ".").Append(key.Key);
                    break;
                }
                case IndexSegment index:
                    if (current.Kind != NodeKind.Sequence)
                    {
                        throw NotFound(path, $"{where} is not a sequence", current, fileLabel);
                    }
                    if (index.Index >= current.Items.Count)
                    {
                        throw NotFound(path, $"{where} has {current.Items.Count} item(s), no index {index.Index}", current, fileLabel);
                    }
                    current = current.Items[index.Index];
                    walked.Append(segment.Text);
                    break;
                case SelectSegment select:
                {
                    if (current.Kind != NodeKind.Sequence)
                    {
                        throw NotFound(path, $"{where} is not a sequence", current, fileLabel);
                    }
                    var matches = current.Items.Where(item => item.Kind == NodeKind.Mapping && item.Pairs.Any(p =>
                        p.Key.Kind == NodeKind.Scalar && p.Key.Value == select.Key &&
                        p.Value.Kind == NodeKind.Scalar && p.Value.Value == select.Value)).ToList();
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
        if (current.Kind != NodeKind.Scalar)
        {
            throw new RelocationException("YamlPathNotScalar", FailureKind.InvalidArgument,
                $"'{path}' in {fileLabel} is a{(current.Kind == NodeKind.Alias ? "n alias" : " " + current.Kind.ToString().ToLowerInvariant())}, not a scalar value.",
                new SourceLocation(fileLabel, current.Line, current.Column), path);
        }
        if (current.Style is ScalarStyle.Literal or ScalarStyle.Folded)
        {
            throw new RelocationException("YamlEditUnsupported", FailureKind.InvalidArgument,
                $"'{path}' in {fileLabel} is a block scalar (| or >); editing block scalars is not supported.",
                new SourceLocation(fileLabel, current.Line, current.Column), path);
        }
        _ = text;
        return new Target(current, current, null, path);
    }

    private static RelocationException NotFound(string path, string why, Node near, string fileLabel) =>
        new("YamlPathNotFound", FailureKind.ObjectNotFound, $"'{path}' does not exist in {fileLabel}: {why}.",
            new SourceLocation(fileLabel, near.Line, near.Column), path);

    private static bool IsNullScalar(Node n) =>
        n.Kind == NodeKind.Scalar && n.Style is ScalarStyle.Plain or ScalarStyle.Any && !n.Tagged &&
        n.Value is "" or "~" or "null" or "Null" or "NULL";

    private static bool IsNullToken(string value) => value is "" or "~" or "null" or "Null" or "NULL";

    private static string? ScalarValueOrNull(Node n) => IsNullScalar(n) ? null : n.Value;

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

    private static Replacement? BuildReplacement(string text, Node node, YamlEdit edit, string fileLabel)
    {
        var start = node.Start;
        // Keep an anchor (&a) or tag (!t) in front of the value.
        while (start < node.End && text[start] is '&' or '!')
        {
            while (start < node.End && !char.IsWhiteSpace(text[start])) start++;
            while (start < node.End && char.IsWhiteSpace(text[start])) start++;
        }
        var isEmpty = node.End == node.Start;
        string rendered;
        switch (edit.Kind)
        {
            case YamlValueKind.Null:
                if (IsNullScalar(node))
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
                var keepsNonStringType = node.Style == ScalarStyle.Plain && !isEmpty && !IsNullScalar(node) && !currentIsString &&
                                         !ResolvesAsString(value) && !IsNullToken(value) && IsPlainSafe(value, node.InFlow);
                rendered = keepsNonStringType ? value : RenderString(value, node.Style, node.InFlow);
                break;
        }
        if (isEmpty && start > 0 && !char.IsWhiteSpace(text[start - 1]))
        {
            rendered = " " + rendered;
        }
        return new Replacement(start, node.End, rendered);
    }

    private static Replacement BuildInsertion(string text, Target target, YamlEdit edit, string eol, string fileLabel)
    {
        var mapping = target.Parent;
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
            var pos = mapping.Pairs.Count == 0 ? mapping.Start + 1 : LastContentEnd(mapping.Pairs[^1].Value);
            var close = text.IndexOf('}', pos);
            if (close < 0)
            {
                close = mapping.CloseIndex;
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

        var indent = new string(' ', mapping.Pairs[0].Key.Column - 1);
        var end = LastContentEnd(mapping);
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

    private static void RequireLiteral(YamlEdit edit, bool inFlow, string fileLabel, Node near)
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
