using System.Buffers;
using System.Text;
using System.Text.Unicode;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Yaml;

/// <summary>A file read for parsing: its text (BOM removed) and the SHA-256 of its bytes.</summary>
public sealed record SourceText(string RelativePath, string Text, string Sha256, long Length);

/// <summary>
/// Reads hand-edited YAML into a small located tree using YamlDotNet's low-level parser (no object
/// mapping, no type guessing). Every failure is a <see cref="RelocationException"/> naming
/// <c>file:line:column</c>; nothing is ever written.
/// </summary>
public static class LocatedYamlReader
{
    /// <summary>Largest file read by default (protects against runaway or hostile inputs).</summary>
    public const long DefaultMaxBytes = 32L * 1024 * 1024;

    /// <summary>Deepest nesting accepted.</summary>
    public const int MaxDepth = 128;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Reads a file as strict UTF-8 text (a BOM is accepted and removed; CRLF is fine), refusing folders,
    /// files larger than <paramref name="maxBytes"/> and invalid bytes.
    /// </summary>
    public static SourceText ReadText(string fullPath, string relativePath, long maxBytes = DefaultMaxBytes) =>
        Decode(ReadBytes(fullPath, relativePath, maxBytes), relativePath);

    /// <summary>Reads a file's bytes, refusing folders and files larger than <paramref name="maxBytes"/>.</summary>
    public static byte[] ReadBytes(string fullPath, string relativePath, long maxBytes = DefaultMaxBytes)
    {
        if (Directory.Exists(fullPath))
        {
            throw new RelocationException("EstateFileNotAFile", FailureKind.InvalidData,
                "This is a folder, but a file is expected here.", new SourceLocation(relativePath, 1, 1), relativePath);
        }
        RequireRegularFile(fullPath, relativePath);
        byte[] bytes;
        try
        {
            var info = new FileInfo(fullPath);
            if (info.Length > maxBytes)
            {
                throw TooLarge(relativePath, info.Length, maxBytes);
            }
            using var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            bytes = ReadAtMost(stream, info.Length, maxBytes, relativePath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RelocationException("EstateFileUnreadable", FailureKind.ResourceUnavailable,
                $"The file cannot be read: {ex.Message}", new SourceLocation(relativePath, 1, 1), relativePath);
        }
        return bytes;
    }

    /// <summary>
    /// Refuses anything but a regular file (after following symlinks): a FIFO would block the read forever, a
    /// device such as /dev/zero never ends. Checked with statx(2) on Linux; elsewhere the size cap still bounds reads.
    /// </summary>
    internal static void RequireRegularFile(string fullPath, string relativePath)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var buffer = new byte[256];
        if (Statx(AtFdCwd, fullPath, 0, StatxType, buffer) != 0)
        {
            return; // missing or unreadable: the open below reports it
        }
        var type = BitConverter.ToUInt16(buffer, 28) & 0xF000;
        if (type != 0x8000)
        {
            var what = type switch { 0x1000 => "a FIFO (named pipe)", 0x2000 => "a character device", 0x6000 => "a block device", 0xC000 => "a socket", _ => "not a regular file" };
            throw new RelocationException("EstateFileNotRegular", FailureKind.InvalidData,
                $"This is {what}; only regular files are read (a pipe or device could block or never end). Replace it with the file itself.",
                new SourceLocation(relativePath, 1, 1), relativePath);
        }
    }

    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1;

    // struct statx keeps stx_mode (u16) at offset 28 on every Linux architecture.
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path,
        int flags, uint mask, byte[] buffer);

    /// <summary>Decodes bytes as strict UTF-8 (see <see cref="ReadText"/>).</summary>
    public static SourceText Decode(byte[] bytes, string relativePath, string? sha256 = null)
    {
        var sha = sha256 ?? Digest.Sha256Hex(bytes);
        ReadOnlySpan<byte> content = bytes;
        if (content.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            content = content[3..];
        }
        try
        {
            return new SourceText(relativePath, s_strictUtf8.GetString(content), sha, bytes.LongLength);
        }
        catch (DecoderFallbackException)
        {
            var (line, column) = LocateInvalidByte(content);
            throw new RelocationException("YamlInvalidEncoding", FailureKind.InvalidData,
                "Invalid UTF-8 byte sequence; save the file as UTF-8.",
                new SourceLocation(relativePath, line, column), relativePath);
        }
    }

    /// <summary>Parses a whole file; null when the document is empty (only comments or nothing).</summary>
    public static YNode? ParseFile(string fullPath, string relativePath, out SourceText source, long maxBytes = DefaultMaxBytes)
    {
        source = ReadText(fullPath, relativePath, maxBytes);
        return Parse(source.Text, relativePath);
    }

    /// <summary>
    /// Parses YAML text into a located tree. <paramref name="lineOffset"/> shifts reported lines (for YAML
    /// front matter inside markdown). Returns null for an empty document. Aliases are refused unless
    /// <paramref name="allowAliases"/> (the editor keeps them as <see cref="YAlias"/> nodes, never expanded).
    /// </summary>
    public static YNode? Parse(string text, string relativePath, int lineOffset = 0, bool allowAliases = false)
    {
        YamlParseLog.Record(relativePath, text);
        if (UseFastPath && FastYamlParser.TryParse(text, lineOffset, out var fast))
        {
            return fast;
        }
        return ParseFull(text, relativePath, lineOffset, allowAliases);
    }

    /// <summary>
    /// Try the fast reader for plain block YAML first (it gives up on anything else, and the full parser
    /// reads the text). On by default; tests compare both.
    /// </summary>
    public static bool UseFastPath { get; set; } = true;

    /// <summary>Parses with YamlDotNet's parser only (see <see cref="Parse"/>).</summary>
    public static YNode? ParseFull(string text, string relativePath, int lineOffset = 0, bool allowAliases = false)
    {
        var parser = new Parser(new StringReader(text));
        var stack = new Stack<Frame>();
        YNode? root = null;
        var documents = 0;
        var lastLine = 1;
        try
        {
            while (parser.MoveNext())
            {
                var ev = parser.Current!;
                lastLine = (int)ev.End.Line;
                switch (ev)
                {
                    case DocumentStart start:
                        documents++;
                        if (documents > 1)
                        {
                            throw new RelocationException("YamlMultipleDocuments", FailureKind.ParserError,
                                "A second YAML document starts here ('---'); a file must hold exactly one.",
                                Loc(relativePath, start.Start, lineOffset), relativePath);
                        }
                        break;
                    case AnchorAlias alias when allowAliases:
                        Add(new YAlias(alias.Value.Value, Line(alias.Start, lineOffset), Col(alias.Start)) { Start = (int)alias.Start.Index, End = (int)alias.End.Index, InFlow = InFlowHere() });
                        break;
                    case AnchorAlias alias:
                        throw new RelocationException("YamlAliasNotAllowed", FailureKind.InvalidData,
                            $"The alias '*{alias.Value}' is not allowed: estate files may not use anchors and aliases (write the values out).",
                            Loc(relativePath, alias.Start, lineOffset), relativePath);
                    case Scalar scalar:
                        Add(Located(new YScalar(scalar.Value, scalar.Style, Line(scalar.Start, lineOffset), Col(scalar.Start)), scalar, (int)scalar.End.Index));
                        break;
                    case MappingStart mapping:
                        Push(Located(new YMapping(Line(mapping.Start, lineOffset), Col(mapping.Start)) { Flow = mapping.Style == MappingStyle.Flow }, mapping, 0), mapping.Start);
                        break;
                    case SequenceStart sequence:
                        Push(Located(new YSequence(Line(sequence.Start, lineOffset), Col(sequence.Start)) { Flow = sequence.Style == SequenceStyle.Flow }, sequence, 0), sequence.Start);
                        break;
                    case MappingEnd or SequenceEnd:
                        var closed = stack.Pop().Node;
                        // A flow collection ends just past its closing bracket (YamlDotNet's end mark of that event is the
                        // bracket itself); a block collection where its last child ends.
                        closed.End = closed is YMapping { Flow: true } or YSequence { Flow: true } ? (int)ev.Start.Index + 1 : LastChildEnd(closed);
                        Add(closed);
                        break;
                }
            }
        }
        catch (YamlException ex)
        {
            throw SyntaxError(ex, text, relativePath, lineOffset);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            // The parser itself failed on damaged input; report where it had got to.
            throw new RelocationException("YamlSyntaxError", FailureKind.ParserError,
                "Not valid YAML: the parser could not continue after this line.",
                new SourceLocation(relativePath, lastLine + lineOffset, 1), relativePath, ex);
        }
        return root;

        T Located<T>(T node, NodeEvent ev, int end) where T : YNode
        {
            node.Start = (int)ev.Start.Index;
            node.End = end;
            node.Anchor = ev.Anchor.IsEmpty ? null : ev.Anchor.Value;
            node.Tag = ev.Tag.IsEmpty ? null : ev.Tag.Value;
            node.InFlow = InFlowHere();
            return node;
        }

        bool InFlowHere() => stack.Count > 0 && stack.Peek().Node is { InFlow: true } or YMapping { Flow: true } or YSequence { Flow: true };

        void Push(YNode node, Mark start)
        {
            if (stack.Count >= MaxDepth)
            {
                throw new RelocationException("YamlTooDeep", FailureKind.InvalidData,
                    $"Nesting deeper than {MaxDepth} levels is not allowed.", Loc(relativePath, start, lineOffset), relativePath);
            }
            stack.Push(new Frame(node));
        }

        void Add(YNode node)
        {
            if (stack.Count == 0)
            {
                root = node;
                return;
            }
            var parent = stack.Peek();
            switch (parent.Node)
            {
                case YSequence sequence:
                    sequence.Items.Add(node);
                    break;
                case YMapping mapping when parent.PendingKey is null:
                    if (node is not YScalar key)
                    {
                        throw new RelocationException("YamlComplexKey", FailureKind.InvalidData,
                            $"A mapping key must be a plain value, not {node.Describe}.",
                            new SourceLocation(relativePath, node.Line, node.Column), relativePath);
                    }
                    parent.PendingKey = key;
                    break;
                case YMapping mapping:
                    var newKey = parent.PendingKey!;
                    parent.PendingKey = null;
                    var existing = mapping.Add(newKey, node);
                    if (existing is not null)
                    {
                        throw new RelocationException("YamlDuplicateKey", FailureKind.InvalidData,
                            $"Duplicate key '{newKey.Value}': it is already defined at line {existing.Line}, column {existing.Column}.",
                            new SourceLocation(relativePath, newKey.Line, newKey.Column), newKey.Value);
                    }
                    break;
            }
        }
    }

    /// <summary>Where a block collection's content ends: at its last child's (a block collection is never empty).</summary>
    internal static int LastChildEnd(YNode node) => node switch
    {
        YMapping { Count: > 0 } m => m.Entries[^1].Value.End,
        YSequence { Items.Count: > 0 } q => q.Items[^1].End,
        _ => node.Start,
    };

    private sealed class Frame(YNode node)
    {
        public YNode Node { get; } = node;
        public YScalar? PendingKey { get; set; }
    }

    private static int Line(Mark mark, int offset) => (int)mark.Line + offset;
    private static int Col(Mark mark) => (int)mark.Column;
    private static SourceLocation Loc(string file, Mark mark, int offset) => new(file, Line(mark, offset), Col(mark));

    private static RelocationException SyntaxError(YamlException ex, string text, string relativePath, int lineOffset)
    {
        // The end mark is where the parser gave up; the start mark is often the enclosing construct.
        var mark = ex.End.Line > 0 ? ex.End : ex.Start;
        var line = (int)mark.Line;
        var column = (int)mark.Column;
        var reason = ex.InnerException?.Message ?? ex.Message;
        // YamlDotNet prefixes messages with its own "(Line: n, Col: m, ...)" mark; we print ours.
        var cut = reason.IndexOf("): ", StringComparison.Ordinal);
        if (reason.StartsWith("(Line:", StringComparison.Ordinal) && cut > 0)
        {
            reason = reason[(cut + 3)..];
        }
        var tab = reason.Contains("tab", StringComparison.OrdinalIgnoreCase) ? FindTab(text, 1, int.MaxValue) : FindTab(text, line - 1, line + 1);
        if (tab is not null)
        {
            (line, column) = tab.Value;
            reason = "tab character used for indentation; YAML allows only spaces";
        }
        return new RelocationException("YamlSyntaxError", FailureKind.ParserError,
            $"Not valid YAML: {reason}",
            new SourceLocation(relativePath, line + lineOffset, column), relativePath);
    }

    // A tab in the leading whitespace of the failing line (or the line before) is the usual culprit.
    private static (int Line, int Column)? FindTab(string text, int fromLine, int toLine)
    {
        var lines = text.Split('\n');
        for (var l = Math.Max(1, fromLine); l <= Math.Min(lines.Length, toLine); l++)
        {
            var current = lines[l - 1];
            for (var i = 0; i < current.Length && (current[i] == ' ' || current[i] == '\t'); i++)
            {
                if (current[i] == '\t')
                {
                    return (l, i + 1);
                }
            }
        }
        return null;
    }

    // The buffer starts at the file's length, so the usual read fills one array that is returned as it is: a buffer
    // that doubled as it filled, then copied, left about three times a large file's size of large-object garbage
    // in a cold gate run. A file that grows while it is read still ends at maxBytes.
    private static byte[] ReadAtMost(Stream stream, long expectedLength, long maxBytes, string relativePath)
    {
        using var buffer = new MemoryStream((int)Math.Min(expectedLength, maxBytes));
        var chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > maxBytes)
                {
                    throw TooLarge(relativePath, buffer.Length, maxBytes);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
    }

    private static RelocationException TooLarge(string relativePath, long length, long maxBytes) =>
        new("YamlFileTooLarge", FailureKind.InvalidData,
            $"The file is {length:N0} bytes; files larger than {maxBytes:N0} bytes are refused.",
            new SourceLocation(relativePath, 1, 1), relativePath);

    private static (int Line, int Column) LocateInvalidByte(ReadOnlySpan<byte> content)
    {
        var chars = new char[Math.Max(16, content.Length)];
        Utf8.ToUtf16(content, chars, out var bytesRead, out _, replaceInvalidSequences: false);
        var valid = content[..bytesRead];
        var line = 1;
        var lastNewline = -1;
        for (var i = 0; i < valid.Length; i++)
        {
            if (valid[i] == (byte)'\n')
            {
                line++;
                lastNewline = i;
            }
        }
        var lineStart = valid[(lastNewline + 1)..];
        var column = Encoding.UTF8.GetCharCount(lineStart) + 1;
        return (line, column);
    }
}
