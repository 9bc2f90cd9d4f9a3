using YamlDotNet.Core;

namespace InfraRelocation.Core.Yaml;

/// <summary>
/// A fast path for the plain, hand-written YAML that estate files are made of: block mappings and
/// sequences, single-line plain and quoted scalars, single-line flow collections, comments. It builds the
/// same located tree (values, styles, positions, spans) as the YamlDotNet-based reader. Anything outside that
/// subset (block scalars, anchors, aliases, tags, multi-line scalars, empty values, tabs and other whitespace
/// than the space, characters YAML treats specially, duplicate keys, document markers other than one leading
/// <c>---</c>, syntax errors) makes it give up, and the full parser reads the text instead, so errors are always
/// reported by one implementation. <c>FastYamlParserTests</c> checks this against the full reader on seeded
/// random YAML.
/// </summary>
internal sealed class FastYamlParser
{
    private readonly string _text;
    private readonly int _lineOffset;
    // Content lines in a plain array rather than a List<Line>: generic code over the parser's own struct is not
    // precompiled (ReadyToRun), so in a cold process every access went through unoptimized JIT code. Exactly as
    // long as the lines found, so reading past the last one throws (and the parser gives up) as the list did.
    private Line[] _lines = [];
    private readonly StringPool _strings = new();
    private int _i;
    private int _depth;

    private readonly record struct Line(int Number, int Start, int End, int Indent);

    private sealed class GiveUp : Exception
    {
    }

    // Tabs (YAML separates tokens with them too), lone carriage returns, the other line breaks YAML knows
    // (NEL, LS, PS), a byte order mark inside the text and characters YAML does not allow: the full parser's case.
    private static readonly System.Buffers.SearchValues<char> s_giveUpChars = System.Buffers.SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\u000b\u000c\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f" +
        "\u007f\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f" +
        "\u2028\u2029\ufeff\ufffe\uffff");

    private FastYamlParser(string text, int lineOffset)
    {
        _text = text;
        _lineOffset = lineOffset;
    }

    /// <summary>True with the tree (null for an empty document) when the text is inside the subset.</summary>
    public static bool TryParse(string text, int lineOffset, out YNode? root)
    {
        root = null;
        if (!OnlyPlainCharacters(text))
        {
            return false;
        }
        var parser = new FastYamlParser(text, lineOffset);
        try
        {
            if (!parser.Split())
            {
                return false;
            }
            if (parser._lines.Length == 0)
            {
                // Nothing but comments is no document; a lone "---" is a document holding an empty scalar.
                return !parser._sawDocumentMarker;
            }
            root = parser.Block(parser._lines[0].Indent);
            return parser._i == parser._lines.Length;
        }
        catch (Exception ex) when (ex is GiveUp or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            root = null;
            return false;
        }
    }

    // Text without the characters of s_giveUpChars, except "\r" right before "\n".
    private static bool OnlyPlainCharacters(string text)
    {
        var rest = text.AsSpan();
        int at;
        while ((at = rest.IndexOfAny(s_giveUpChars)) >= 0)
        {
            if (rest[at] != '\r' || at + 1 >= rest.Length || rest[at + 1] != '\n')
            {
                return false;
            }
            rest = rest[(at + 2)..];
        }
        return true;
    }

    private bool _sawDocumentMarker;

    // Content lines (not blank, not comment-only), with their indentation.
    private bool Split()
    {
        var number = 0;
        var documentMarkers = 0;
        var lines = new Line[_text.AsSpan().Count('\n') + 1];
        var count = 0;
        for (var start = 0; start <= _text.Length;)
        {
            number++;
            var newline = _text.IndexOf('\n', start);
            var end = newline < 0 ? _text.Length : newline;
            var contentEnd = end > start && _text[end - 1] == '\r' ? end - 1 : end;
            var p = start;
            while (p < contentEnd && _text[p] == ' ')
            {
                p++;
            }
            if (p < contentEnd && _text[p] == '\t')
            {
                return false;
            }
            if (p < contentEnd && _text[p] != '#')
            {
                if (p == start && (_text[p] == '%' || StartsWith(p, contentEnd, "...")))
                {
                    return false;
                }
                if (p == start && StartsWith(p, contentEnd, "---"))
                {
                    if (++documentMarkers > 1 || count > 0 || !RestIsBlank(p + 3, contentEnd))
                    {
                        return false;
                    }
                    _sawDocumentMarker = true;
                }
                else
                {
                    lines[count++] = new Line(number, p, contentEnd, p - start);
                }
            }
            if (newline < 0)
            {
                break;
            }
            start = newline + 1;
        }
        _lines = lines.AsSpan(0, count).ToArray();
        return true;
    }

    private bool StartsWith(int p, int end, string s) => end - p >= s.Length && string.CompareOrdinal(_text, p, s, 0, s.Length) == 0;

    private bool RestIsBlank(int p, int end)
    {
        while (p < end && _text[p] == ' ')
        {
            p++;
        }
        return p == end || _text[p] == '#';
    }

    private YNode Block(int indent)
    {
        Enter();
        try
        {
            return BlockAt(indent);
        }
        finally
        {
            _depth--;
        }
    }

    // Deep nesting is left to the full parser, which refuses it with a located error.
    private void Enter()
    {
        if (++_depth > LocatedYamlReader.MaxDepth)
        {
            throw new GiveUp();
        }
    }

    private YNode BlockAt(int indent)
    {
        var line = _lines[_i];
        if (line.Indent != indent)
        {
            throw new GiveUp();
        }
        return IsSequenceItem(line.Start, line.End) ? Sequence(indent) : Mapping(indent, line.Start);
    }

    private bool IsSequenceItem(int p, int end) => _text[p] == '-' && (p + 1 == end || _text[p + 1] == ' ');

    private YSequence Sequence(int indent)
    {
        var first = _lines[_i];
        var sequence = new YSequence(LineNo(first), first.Start - LineStart(first) + 1) { Start = first.Start };
        while (_i < _lines.Length && _lines[_i].Indent == indent && IsSequenceItem(_lines[_i].Start, _lines[_i].End))
        {
            var line = _lines[_i];
            var p = line.Start + 1;
            while (p < line.End && _text[p] == ' ')
            {
                p++;
            }
            if (p == line.End || _text[p] == '#')
            {
                // "-" alone: the item is the block below, more indented.
                _i++;
                if (_i >= _lines.Length || _lines[_i].Indent <= indent)
                {
                    throw new GiveUp();
                }
                sequence.Items.Add(Block(_lines[_i].Indent));
                continue;
            }
            if (IsSequenceItem(p, line.End) || FindKeyColon(p, line.End) >= 0)
            {
                // A compact collection: its own indentation is where it starts on the line.
                var innerIndent = p - LineStart(line);
                _lines[_i] = line with { Start = p, Indent = innerIndent };
                sequence.Items.Add(Block(innerIndent));
                continue;
            }
            sequence.Items.Add(InlineValue(line, p, out var after));
            ExpectEndOfLine(after, line.End);
            _i++;
            if (_i < _lines.Length && _lines[_i].Indent > indent)
            {
                throw new GiveUp(); // a continued scalar
            }
        }
        sequence.End = sequence.Items[^1].End;
        return sequence;
    }

    private YMapping Mapping(int indent, int firstKeyAt)
    {
        var first = _lines[_i];
        var mapping = new YMapping(LineNo(first), firstKeyAt - LineStart(first) + 1) { Start = firstKeyAt };
        while (_i < _lines.Length && _lines[_i].Indent == indent)
        {
            var line = _lines[_i];
            if (IsSequenceItem(line.Start, line.End))
            {
                break;
            }
            var colon = FindKeyColon(line.Start, line.End);
            if (colon < 0)
            {
                throw new GiveUp();
            }
            var key = Key(line, colon);
            var p = colon + 1;
            while (p < line.End && _text[p] == ' ')
            {
                p++;
            }
            YNode value;
            if (p == line.End || _text[p] == '#')
            {
                _i++;
                if (_i < _lines.Length && (_lines[_i].Indent > indent ||
                                          (_lines[_i].Indent == indent && IsSequenceItem(_lines[_i].Start, _lines[_i].End))))
                {
                    value = Block(_lines[_i].Indent);
                }
                else
                {
                    throw new GiveUp(); // an empty value: leave its exact location to the full parser
                }
            }
            else
            {
                value = InlineValue(line, p, out var after);
                ExpectEndOfLine(after, line.End);
                _i++;
                if (_i < _lines.Length && _lines[_i].Indent > indent)
                {
                    throw new GiveUp();
                }
            }
            if (mapping.Add(key, value) is not null)
            {
                throw new GiveUp(); // duplicate key: the full parser reports it
            }
        }
        if (mapping.Count == 0)
        {
            throw new GiveUp();
        }
        mapping.End = mapping.Entries[^1].Value.End;
        return mapping;
    }

    // The colon ending a block key on this line, or -1 when the line is not "key: ...".
    private int FindKeyColon(int p, int end)
    {
        var c = _text[p];
        if (c is '"' or '\'')
        {
            var close = QuotedEnd(p, end);
            return close > 0 && close + 1 < end && _text[close + 1] == ':' && (close + 2 == end || _text[close + 2] == ' ') ? close + 1 : -1;
        }
        if (IsIndicator(c) || c is '?' or ':' || (c == '-' && (p + 1 == end || _text[p + 1] == ' ')))
        {
            return -1;
        }
        for (var q = p; q < end; q++)
        {
            if (_text[q] == ':' && (q + 1 == end || _text[q + 1] == ' '))
            {
                return q;
            }
            if (_text[q] == '#' && _text[q - 1] == ' ')
            {
                return -1;
            }
        }
        return -1;
    }

    private YScalar Key(Line line, int colon)
    {
        var p = line.Start;
        if (_text[p] is '"' or '\'')
        {
            var key = Quoted(line, p, out var after);
            if (after != colon)
            {
                throw new GiveUp();
            }
            return key;
        }
        var endKey = colon;
        while (endKey > p && _text[endKey - 1] == ' ')
        {
            endKey--;
        }
        var text = _strings.Get(_text, p, endKey);
        if (text.Length == 0 || text.Contains(": ", StringComparison.Ordinal) || text.Contains(" #", StringComparison.Ordinal))
        {
            throw new GiveUp();
        }
        return new YScalar(text, ScalarStyle.Plain, LineNo(line), p - LineStart(line) + 1) { Start = p, End = endKey };
    }

    private YNode InlineValue(Line line, int p, out int after)
    {
        var c = _text[p];
        switch (c)
        {
            case '"' or '\'':
                return Quoted(line, p, out after);
            case '[' or '{':
                return Flow(line, ref p, out after);
        }
        if (IsIndicator(c) || c is '?' or ':' || (c == '-' && (p + 1 == line.End || _text[p + 1] == ' ')))
        {
            throw new GiveUp();
        }
        // A plain scalar runs to a comment or the end of the line.
        var end = p;
        for (var q = p; q < line.End; q++)
        {
            if (_text[q] == '#' && _text[q - 1] == ' ')
            {
                break;
            }
            if (_text[q] == ':' && (q + 1 == line.End || _text[q + 1] == ' '))
            {
                throw new GiveUp();
            }
            if (_text[q] != ' ')
            {
                end = q + 1;
            }
        }
        after = end;
        return new YScalar(_strings.Get(_text, p, end), ScalarStyle.Plain, LineNo(line), p - LineStart(line) + 1) { Start = p, End = end };
    }

    private static bool IsIndicator(char c) => c is ',' or '[' or ']' or '{' or '}' or '#' or '&' or '*' or '!' or '|' or '>' or '%' or '@' or '`';

    private YNode Flow(Line line, ref int p, out int after)
    {
        Enter();
        var start = p;
        try
        {
            var node = FlowAt(line, ref p, out after);
            node.Start = start;
            node.End = after;
            node.InFlow = _flowDepth > 0;
            return node;
        }
        finally
        {
            _depth--;
        }
    }

    private int _flowDepth;

    private YNode FlowAt(Line line, ref int p, out int after)
    {
        _flowDepth++;
        try
        {
            return FlowBody(line, ref p, out after);
        }
        finally
        {
            _flowDepth--;
        }
    }

    private YNode FlowBody(Line line, ref int p, out int after)
    {
        var open = _text[p];
        var column = p - LineStart(line) + 1;
        YNode node;
        p++;
        if (open == '[')
        {
            var sequence = new YSequence(LineNo(line), column) { Flow = true };
            SkipSpaces(line, ref p);
            while (_text[p] != ']')
            {
                sequence.Items.Add(FlowItem(line, ref p));
                SkipSpaces(line, ref p);
                if (_text[p] == ',')
                {
                    p++;
                    SkipSpaces(line, ref p);
                    if (_text[p] == ']')
                    {
                        throw new GiveUp();
                    }
                }
                else if (_text[p] != ']')
                {
                    throw new GiveUp();
                }
            }
            node = sequence;
        }
        else
        {
            var mapping = new YMapping(LineNo(line), column) { Flow = true };
            SkipSpaces(line, ref p);
            while (_text[p] != '}')
            {
                if (FlowItem(line, ref p) is not YScalar key || _text[p] != ':')
                {
                    throw new GiveUp();
                }
                p++;
                if (_text[p] != ' ')
                {
                    throw new GiveUp();
                }
                SkipSpaces(line, ref p);
                if (mapping.Add(key, FlowItem(line, ref p)) is not null)
                {
                    throw new GiveUp();
                }
                SkipSpaces(line, ref p);
                if (_text[p] == ',')
                {
                    p++;
                    SkipSpaces(line, ref p);
                    if (_text[p] == '}')
                    {
                        throw new GiveUp();
                    }
                }
                else if (_text[p] != '}')
                {
                    throw new GiveUp();
                }
            }
            node = mapping;
        }
        after = p + 1;
        return node;
    }

    private void SkipSpaces(Line line, ref int p)
    {
        while (p < line.End && _text[p] == ' ')
        {
            p++;
        }
        if (p >= line.End)
        {
            throw new GiveUp(); // flow collections must close on their line
        }
    }

    private YNode FlowItem(Line line, ref int p)
    {
        var c = _text[p];
        if (c is '[' or '{')
        {
            return Flow(line, ref p, out p);
        }
        if (c is '"' or '\'')
        {
            return Quoted(line, p, out p);
        }
        if (IsIndicator(c) || c is '?' or ':' || (c == '-' && (p + 1 >= line.End || _text[p + 1] is ' ' or ',' or ']' or '}')))
        {
            throw new GiveUp();
        }
        var start = p;
        var end = p;
        for (; p < line.End; p++)
        {
            var ch = _text[p];
            if (ch is ',' or ']' or '}' or '[' or '{' or '#')
            {
                break;
            }
            if (ch == ':')
            {
                if (p + 1 < line.End && _text[p + 1] != ' ')
                {
                    throw new GiveUp();
                }
                break;
            }
            if (ch != ' ')
            {
                end = p + 1;
            }
        }
        if (end == start || (p < line.End && _text[p] is '[' or '{' or '#'))
        {
            throw new GiveUp();
        }
        return new YScalar(_strings.Get(_text, start, end), ScalarStyle.Plain, LineNo(line), start - LineStart(line) + 1) { Start = start, End = end, InFlow = true };
    }

    private YScalar Quoted(Line line, int p, out int after)
    {
        var quote = _text[p];
        var close = QuotedEnd(p, line.End);
        if (close < 0)
        {
            throw new GiveUp();
        }
        var raw = _text.AsSpan(p + 1, close - p - 1);
        string value;
        if (quote == '\'')
        {
            value = raw.Contains('\'') ? raw.ToString().Replace("''", "'", StringComparison.Ordinal) : _strings.Get(_text, p + 1, close);
        }
        else if (raw.Contains('\\'))
        {
            value = Unescape(raw);
        }
        else
        {
            value = _strings.Get(_text, p + 1, close);
        }
        after = close + 1;
        return new YScalar(value, quote == '"' ? ScalarStyle.DoubleQuoted : ScalarStyle.SingleQuoted,
            LineNo(line), p - LineStart(line) + 1) { Start = p, End = after, InFlow = _flowDepth > 0 };
    }

    // Index of the closing quote on this line, or -1.
    private int QuotedEnd(int p, int end)
    {
        var quote = _text[p];
        for (var q = p + 1; q < end; q++)
        {
            if (quote == '"' && _text[q] == '\\')
            {
                q++;
                continue;
            }
            if (_text[q] == quote)
            {
                if (quote == '\'' && q + 1 < end && _text[q + 1] == '\'')
                {
                    q++;
                    continue;
                }
                return q;
            }
        }
        return -1;
    }

    private static string Unescape(ReadOnlySpan<char> raw)
    {
        var sb = new System.Text.StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != '\\')
            {
                sb.Append(raw[i]);
                continue;
            }
            if (++i >= raw.Length)
            {
                throw new GiveUp();
            }
            switch (raw[i])
            {
                case '\\': sb.Append('\\'); break;
                case '"': sb.Append('"'); break;
                case '/': sb.Append('/'); break;
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                default: throw new GiveUp();
            }
        }
        return sb.ToString();
    }

    private void ExpectEndOfLine(int p, int end)
    {
        if (p < end && _text[p] != ' ')
        {
            throw new GiveUp();
        }
        if (!RestIsBlank(p, end))
        {
            throw new GiveUp();
        }
    }

    private int LineNo(Line line) => line.Number + _lineOffset;

    private int LineStart(Line line) => line.Start - line.Indent;
}
