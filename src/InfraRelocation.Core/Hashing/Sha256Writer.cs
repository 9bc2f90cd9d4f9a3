using System.Buffers;
using System.Security.Cryptography;

namespace InfraRelocation.Core.Hashing;

/// <summary>
/// A buffer writer that hashes what is written to it and keeps nothing but one small buffer: a
/// <see cref="System.Text.Json.Utf8JsonWriter"/> over it digests a large text without the text ever existing.
/// The digest is the same as <see cref="Digest.Sha256Hex(ReadOnlySpan{byte})"/> of the whole text.
/// </summary>
public sealed class Sha256Writer : IBufferWriter<byte>, IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[] _buffer = new byte[16 * 1024];

    public void Advance(int count) => _hash.AppendData(_buffer, 0, count);

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (sizeHint > _buffer.Length)
        {
            _buffer = new byte[sizeHint];
        }
        return _buffer;
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <summary>The SHA-256 of everything written, lower-case hex; the writer starts afresh after it.</summary>
    public string Sha256Hex() => Convert.ToHexString(_hash.GetHashAndReset()).ToLowerInvariant();

    public void Dispose() => _hash.Dispose();
}
