"""A stand-in for pywin32's COM automation of Microsoft Office (``win32com.client``, with
``pythoncom`` and ``pywintypes`` beside it), for the tests of ``msoffice-live`` on machines
without Windows. It cannot render anything: it enforces the object-model calls the harness
makes and answers as Office does.

Enforced, raising ``StandInViolation`` (a harness bug, never a document's fault):
- ``DispatchEx`` only (``Dispatch`` would take over the user's own Office), after
  ``pythoncom.CoInitialize``;
- before any document opens: ``AutomationSecurity = msoAutomationSecurityForceDisable`` (3),
  ``DisplayAlerts`` off (Word ``wdAlertsNone`` 0, Excel False, PowerPoint ``ppAlertsNone``
  1), Word and Excel hidden, Word's ``Options.UpdateLinksAtOpen`` and Excel's
  ``AskToUpdateLinks`` False; hiding PowerPoint raises its real error instead;
- ``Documents.Open`` with ``ReadOnly=True``, ``ConfirmConversions=False``,
  ``AddToRecentFiles=False``, ``Visible=False``, never ``OpenAndRepair=True``, and a
  ``PasswordDocument`` (without one Word would ask in a dialog nobody sees);
  ``Workbooks.Open`` with ``UpdateLinks=0``, ``ReadOnly=True``, ``Notify=False``,
  ``AddToMru=False``, a ``Password``, never ``CorruptLoad`` other than ``xlNormalLoad``;
  ``Presentations.Open`` with ``ReadOnly`` and ``WithWindow`` false, its file name carrying
  a password as ``FILE::PASSWORD::``;
- ``ExportAsFixedFormat`` with the PDF type of each application (Word ``ExportFormat=17``,
  Excel ``Type=0``, PowerPoint ``FixedFormatType=2``), never opening a viewer after;
  a named argument the method does not have raises COM's "Unknown name.";
- closing without saving: Word ``Close(SaveChanges=wdDoNotSaveChanges)``, Excel
  ``Close(SaveChanges=False)``, PowerPoint ``Saved = msoTrue`` then ``Close()``; any Save or
  SaveAs is refused; ``Quit`` ends the application (Word's with ``SaveChanges`` 0).

Answers, as ``pywintypes.com_error`` with Office's HRESULTs and messages: an OLE container
under an OOXML or ODF name, or one holding ``EncryptionInfo``, is password-protected (Word
error 5408, Excel 1004, PowerPoint E_FAIL); a zip package that does not read (truncated,
bad CRC) needs repair; bytes that are no container of the format are corrupt (Word error
5792 "The file appears to be corrupted.", Excel's "file format or file extension is not
valid", PowerPoint's "could not open the file"). Anything else gives a real one-page PDF.

Each running application is a real process, started as COM starts Office (its own session,
none of the driver's environment) and named as Office's executable (``WINWORD.EXE``...), so
that only its process id, which the driver finds as it finds Office's, can end it; ``Quit``
and a crash end it, a hang leaves it running (it also ends with the Python that started it
when that one exits by itself, not when it is killed). The ``DispatchEx`` line of the log gives it.

For tests: ``FAKE_OFFICE_HANG`` makes Open never return (Office waiting on a dialog), or,
set to ``start``, the application's first setting (a first-run dialog);
``FAKE_OFFICE_CRASH`` makes the application die at Open (RPC_S_SERVER_UNAVAILABLE);
``FAKE_OFFICE_EXIT`` ends the driver's process with that code at Open;
``FAKE_OFFICE_MISSING`` unregisters ProgIDs; ``FAKE_OFFICE_LOG`` names a file where every
call is appended as a JSON line.
"""

# Declares this package a stand-in: msoffice-live is available off Windows only when it is
# set, and its version then says "COM stand-in".
STAND_IN = "COM stand-in for the tests (tests/fakes/win32com)"
