// The error every failing call throws, with the library's status and
// message; the enums and callback types users see.
using System;
using LibGptq.Native;

namespace LibGptq {

/// <summary>The library's gptq_status (gptq.h is its one source).</summary>
public enum Status {
  Ok = (int)status.GPTQ_OK,
  InvalidArgument = (int)status.GPTQ_ERR_INVALID_ARGUMENT,
  IO = (int)status.GPTQ_ERR_IO,
  Format = (int)status.GPTQ_ERR_FORMAT,
  Unsupported = (int)status.GPTQ_ERR_UNSUPPORTED,
  OutOfMemory = (int)status.GPTQ_ERR_OUT_OF_MEMORY,
  Device = (int)status.GPTQ_ERR_DEVICE,
  Numerical = (int)status.GPTQ_ERR_NUMERICAL,
  Cancelled = (int)status.GPTQ_ERR_CANCELLED,
  Internal = (int)status.GPTQ_ERR_INTERNAL,
  BufferTooSmall = (int)status.GPTQ_ERR_BUFFER_TOO_SMALL,
  Reentrant = (int)status.GPTQ_ERR_REENTRANT,
}

/// <summary>The level of a log line.</summary>
public enum LogLevel {
  Error = (int)log_level.GPTQ_LOG_ERROR,
  Warn = (int)log_level.GPTQ_LOG_WARN,
  Info = (int)log_level.GPTQ_LOG_INFO,
  Debug = (int)log_level.GPTQ_LOG_DEBUG,
}

/// <summary>
/// A failed call of libgptq: <see cref="Status"/> and the library's message,
/// which names what went wrong and where (file, tensor, field). Read on the
/// failing call's thread, inside the native wrapper. An unchecked exception,
/// as every .NET API's errors are.
/// </summary>
public class GptqException : Exception {
  public Status Status { get; private set; }

  public GptqException(Status status, string message) : base(message) { Status = status; }

  /// <summary>The status's name as gptq.h spells it, e.g. "INVALID_ARGUMENT".</summary>
  public string StatusName { get { return gptq.status_name((int)Status); } }

  public override string ToString() { return "GptqException (" + StatusName + "): " + base.ToString(); }
}

/// <summary>
/// Receives a long call's stage, units done and total (0 when unknown), on
/// the thread that made the call. Return false to cancel: the call then
/// throws a GptqException with Status.Cancelled. An exception it throws
/// stops the work too, and the call throws it when it returns.
/// </summary>
public delegate bool ProgressCallback(string stage, ulong done, ulong total);

/// <summary>
/// Receives generated text as it becomes final and the token id (-1 for a
/// last flush of held-back text). Return false to stop generating. An
/// exception it throws stops the generation and Generate throws it.
/// </summary>
public delegate bool TokenCallback(string piece, int id);

/// <summary>
/// Receives the generated text of one sequence of Session.GenerateBatch (the
/// index of its prompt) as it becomes final, and the token id (-1 for a last
/// flush of held-back text). Return false to stop that sequence only; the
/// others go on. An exception it throws stops every sequence (each at its
/// next token) and GenerateBatch throws it.
/// </summary>
public delegate bool BatchTokenCallback(int sequence, string piece, int id);

}
