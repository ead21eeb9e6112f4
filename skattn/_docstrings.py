"""Docstring fragments shared by the estimators, written once.

A docstring includes a fragment as ``%(name)s`` on a line of its own, indented like
the text around it, and its class is decorated with :func:`fill_doc`; a literal
percent sign in such a docstring is written ``%%``.
"""

from __future__ import annotations

from typing import TypeVar

_FRAGMENTS = {
    "partial_fit_description": """\
For data that does not fit in memory, call it once per chunk, for as many
        passes over the chunks as training needs. The first call on an unfitted
        model learns the input encoding (column kinds, categories, numerical
        scaling; a regressor also the target's standardisation) from its chunk, so
        make that chunk a random sample of the data rather than the first rows of a
        sorted file; categories that appear only later are encoded as unknown.
        AdamW's moments carry over between calls, and each call shuffles its chunk
        with seeds drawn from ``random_state`` and the number of calls so far.
        There is no validation split or early stopping (``early_stopping``,
        ``validation_fraction``, ``n_iter_no_change``, ``tol`` and ``max_iter`` are
        not used): score held-out chunks between passes. ``partial_fit`` after
        ``fit`` continues that fit; ``fit`` after ``partial_fit`` starts afresh
        (unless ``warm_start``).""",
    "member_parameters": """\
n_members : int or "auto", default="auto"
        Networks trained side by side in one estimator, each from its own random
        initialisation, predicting together: the mean of their probabilities (a
        soft vote; the mean of the logits for a 2-D ``y``) or of their
        predictions. ``"auto"``: 5 when ``fit`` gets 10 to 2,999 rows of a table,
        else 1; 1 when an input is sequences, alone or a side of
        :class:`TwoInputs` (small sets of sequences alone get a narrower network
        instead, see ``d_token``), and in ``partial_fit`` (see
        :attr:`n_members_`). README, "Small data", has the measurements. Each
        member costs about one network's time per epoch.

        With early stopping (``"auto"`` turns it on whenever each member can hold
        out two rows) the members are cross-fitted: the rows are cut into
        ``n_members`` folds (stratified for classification of a 1-D ``y`` when
        every class has a row for each fold); member ``m`` trains on all folds
        but fold ``m``, is scored on it, and keeps the weights of its best epoch
        there. No row is lost to the ensemble, and the validation scores are out
        of fold, over every row; ``validation_fraction`` is not used. Without
        early stopping every member trains on every row.

        ``feature_attention`` and ``feature_importances_`` average the members'
        attention; ``attention_maps`` averages their maps token by token (with
        latent tokens, only the rows of the CLS token compare across members).
        ``partial_fit``, ``pretrained`` (copied into every member),
        ``save_model`` and ``export_onnx`` take ensembles as they take one
        network; ``callbacks`` see the members' outputs, of shape (n_members,
        batch rows, outputs).""",
    "network_parameters": """\
n_blocks : int, default=2
        Number of blocks, each self-attention over the tokens followed by an MLP,
        both pre-normalised (LayerNorm) and residual.

    d_token : int or "auto", default="auto"
        Width of every token: each feature is embedded as a vector of this size.
        ``"auto"``: 64, but 32 when ``fit`` gets sequences on fewer than 3,000
        rows: there a network of half the width, trained for half the epochs
        (see ``max_iter``), fitted the sequence benchmark's data sets 1.5 to
        2.1 times faster than the full width trained for 100 epochs, as
        accurate on four of five (GunPoint: 0.5 points lower; docs/design.md,
        "A narrower network for small sets of sequences"). ``partial_fit``
        builds the full width, and a ``pretrained`` model's width is taken
        (see :attr:`d_token_`).

    n_heads : int, default=4
        Number of attention heads. Must divide ``d_token``.

    activation : {"reglu", "geglu", "relu", "gelu", "tanh", "sigmoid"}, \
default="reglu"
        Activation of the MLP in each block. ``"reglu"`` and ``"geglu"`` are gated
        linear units (the MLP's first layer is then twice as wide).

    ffn_factor : float, default=4/3
        Hidden width of each block's MLP, as a multiple of ``d_token`` (rounded up
        to a multiple of 8).

    attention_dropout : float, default=0.0
        Dropout on the attention weights. On CPU, PyTorch's fused attention kernel
        falls back to a 2-4x slower path when this is above zero.

    ffn_dropout : float, default=0.1
        Dropout between the two layers of each MLP.

    residual_dropout : float, default=0.0
        Dropout on each attention and MLP output before it joins the residual.""",
    "training_parameters": """\
learning_rate : float, default=1e-3
        Learning rate of the AdamW optimiser.

    learning_rate_schedule : {"cosine", "constant"}, default="cosine"
        ``"cosine"``: a linear warm-up over the first epoch, then a half cosine that
        reaches 0 after ``max_iter`` epochs (early stopping may end training
        before). ``"constant"``: ``learning_rate`` throughout. ``partial_fit``
        always trains at ``learning_rate``.

    weight_decay : float, default=1e-5
        AdamW's decoupled weight decay, applied to weight matrices only: embeddings,
        normalisation layers and biases are not decayed.

    batch_size : int or "auto", default="auto"
        Rows per mini-batch. ``"auto"`` uses ``min(256, max(16, n_train // 10))``,
        so that small data still gets about ten optimiser steps per epoch; with
        cross-fitted members (see ``n_members``) on fewer than 3,000 rows, 128 rows
        (or all of them, when fewer): there five members scored better or the same
        with it, on average, on all seven small tables measured (up to 2,025
        training rows; docs/design.md, "Batch size for cross-fitted members").

    max_iter : int or "auto", default="auto"
        Maximum number of epochs (passes over the training data). ``"auto"``: 100,
        but 50 when ``fit`` gets sequences on fewer than 3,000 rows (see
        ``d_token`` and :attr:`max_iter_`), also when a ``pretrained`` network
        gives the width; a fit that continues (``warm_start``) keeps what
        ``"auto"`` gave the first.

    early_stopping : bool or "auto", default="auto"
        Whether to hold out ``validation_fraction`` of the training data and stop
        when the validation loss stops improving, restoring the weights of the best
        epoch. ``"auto"`` enables it when there are more than 2,000 samples (more
        than 100 when learning quantiles or learning without labels), and for
        cross-fitted members (see ``n_members``) whenever each can hold out two
        rows. When disabled, training stops once the training loss has not
        improved by ``tol`` for ``n_iter_no_change`` epochs, keeping the last
        epoch's weights; a spike of the loss (after the fourth epoch, more than
        twice the best so far and 0.01 above it) starts that count again from
        the spike's loss, so that a network still recovering from one trains on.

    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping (stratified for
        classification of a 1-D ``y`` when every class has two samples and the
        split has room for one of each, else random). Only used when early
        stopping is on.

    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before training stops.

    tol : float, default=1e-4
        Smallest decrease of the monitored loss that counts as an improvement.""",
    "input_parameters": """\
categorical_features : "auto", None or array-like, default="auto"
        Which columns are categorical; each gets an embedding table with its own
        learned vectors for missing values and for categories not seen in ``fit``.

        - ``"auto"``: DataFrame columns of ``category`` or string dtype, and object
          columns (of DataFrames or object arrays) that hold strings.
        - None: no column is categorical.
        - array-like of str: column names (X must be a DataFrame).
        - array-like of int or bool: column positions or a mask over the columns.

        All other columns are numerical; their missing values (NaN, None,
        ``pd.NA``) get a learned per-feature token.

    numerical_scaling : {"quantile", "standard"} or None, default="quantile"
        Scaling of the numerical columns before the network: a quantile transform to
        a normal distribution (robust to outliers and skew), standardisation, or
        none.

    numerical_embedding : {"piecewise_linear", "linear"}, default="piecewise_linear"
        How a scaled number becomes its token. ``"linear"``: ``x * w_j + b_j``, one
        direction per feature. ``"piecewise_linear"``: the piecewise-linear encoding
        of Gorishniy et al. (2022) over 48 quantile bins of the feature, learned in
        ``fit``, times a per-feature weight matrix; the token can then change course
        at every bin edge, as a tree's split would. Sequences are not affected.

    input_type : {"auto", "tabular", "sequence"}, default="auto"
        How to read ``X``. "auto": a 3-D array ``(n_samples, n_steps, n_channels)``
        or a list of per-sample ``(n_steps, n_channels)`` or ``(n_steps,)`` arrays
        is sequences; a 2-D array, DataFrame or list of lists a table. "sequence"
        also reads a 2-D array as univariate sequences, one column per step.
        Sequences may have different lengths (as a list, or NaN-padded after their
        end) and missing values.

    patch_size : int or "auto", default="auto"
        Consecutive time steps per token for sequences, so attention costs
        ``(n_steps / patch_size)**2``. "auto" keeps the longest training sequence
        within 16 tokens, in patches of at least 4 steps with
        ``sequence_tokenizer="random_kernels"``.

    sequence_tokenizer : {"auto", "linear", "random_kernels"}, default="auto"
        What a patch of steps becomes as a token. "linear": a linear projection of
        the patch's values. "random_kernels": that, plus the patch's random-kernel
        features, layer-normalised and projected: for each of MiniRocket's 84 fixed
        kernels (Dempster et al., 2021), at up to 8 dilations spanning the longest
        training sequence, the proportion of the patch's steps where the kernel's
        response exceeds each of 4 thresholds fitted on training series. They
        describe a patch's shape at several scales whatever its position and level,
        but can drown a signal that lies in a series' level rather than its shape
        (the sign of a noisy series' mean). The kernels are fixed, not trained;
        their random choices come from ``random_state``, and a fit computes their
        responses for every batch (1.5-5.0 times the linear tokens' fit time on the
        sequence benchmark).

        "auto" chooses in ``fit`` from the training data, with a linear probe:
        ridge models (penalty chosen by cross-validation, as MiniRocket's) on each
        training series' kernel features over its whole length and on its raw
        values, scored by 5-fold cross-validated accuracy (R2 for regression) on at
        most 500 series (fewer when they are long: 65,536 steps in all, but at
        least 32 series); the kernels are taken when they score higher by more
        than 1.5 standard errors of the difference (paired over the series), else
        the linear tokens. The probe
        takes a fraction of a second; unequal training weights (``sample_weight``
        times class weights) weight its fits and scores; ``partial_fit``
        chooses on its first chunk, and a fit without a target (the extractor's
        masked pre-training) takes "linear". A "linear" choice gives exactly the
        model of ``sequence_tokenizer="linear"``, a kernel choice that of
        "random_kernels". On the sequence benchmark "auto" took the kernels on
        GunPoint, BasicMotions and JapaneseVowels and the linear tokens on
        ItalyPowerDemand and the level task (README, "Sequences").
        :attr:`sequence_tokenizer_` says what was chosen, and
        :attr:`sequence_tokenizer_scores_` the probe's scores that chose it.

    n_cross_blocks : int, default=1
        With :class:`TwoInputs`, the number of cross-attention blocks (each followed
        by an MLP) in which the main input's tokens attend to the context input's
        tokens, after ``n_blocks`` self-attention blocks on each input.

    n_latent_tokens : int, "auto" or None, default="auto"
        Token reduction for wide inputs. With an int ``L``, the first block lets
        the CLS token and ``L`` learned latent tokens attend to the input's tokens,
        and the other blocks attend among those ``1 + L`` tokens only, so a row
        costs time linear in the number of features instead of quadratic. None
        keeps full attention over every feature token in every block. "auto" uses
        32 latent tokens when the input has more than 64 tokens (features, or
        patches of a sequence), else None. :attr:`n_latent_tokens_` holds the
        choice.""",
    "runtime_parameters": """\
device : "auto", str or torch.device, default="auto"
        Where to train and predict. ``"auto"`` picks CUDA when available, else the
        CPU. A fitted model pickled on a GPU loads on a machine without one.

    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Precision of the forward passes, in training and prediction: "bfloat16"
        runs them under :func:`torch.autocast` to bfloat16 (the loss and the
        optimiser stay float32). "auto" is bfloat16 on a CUDA device that supports
        it and float32 elsewhere: on the CPU, bfloat16 was slower in our
        measurements.

    compile : bool, default=False
        Train a :func:`torch.compile`-d version of the network. Compiling takes
        tens of seconds, so it pays only for long fits; prediction uses the plain
        network. Compiled code draws dropout masks from its own generator: the
        same ``random_state`` then gives a model other than the uncompiled one.

    distributed : bool, default=False
        Train data-parallel across the processes of a :mod:`torch.distributed`
        group, typically one per GPU launched by ``torchrun --nproc-per-node N
        script.py``, which sets the environment this reads. Every process calls
        ``fit`` with the same data; each computes the gradients of its share of
        every batch of ``batch_size`` rows (the global batch), which
        :class:`~torch.nn.parallel.DistributedDataParallel` averages, so all
        processes end with the same model. The group is initialised from the
        environment unless it already is (NCCL on GPUs, gloo on CPUs); with a
        CUDA ``device``, process ``LOCAL_RANK`` uses GPU ``LOCAL_RANK``. The
        seeds come from process 0, so ``random_state=None`` works too.

    n_threads : int, "auto" or None, default="auto"
        torch threads (intra-op, as :func:`torch.set_num_threads`) for a fit or
        ``partial_fit`` call, put back as they were when it ends. ``"auto"``: one
        thread when the call trains on the CPU on fewer than 3,000 rows, else
        torch's count as it is; None: torch's count as it is. On a 2-core
        machine, fits below 3,000 rows ran 1.9 to 21 times slower on two threads
        than on one beside a busy process, and at most 1.41 times faster on an
        idle machine (docs/design.md, "The levers left for issue 15's misses, and
        the thread policy measured again"); pass None on a machine of your own.
        The count is set for the thread that calls ``fit`` (torch's
        count belongs to each thread; threads started meanwhile begin with it).
        Prediction runs on torch's count. float32 sums depend on the thread
        count, so the same ``random_state`` gives the same model at the same
        count.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, batch order, dropout and validation split.
        An int gives the same model at every fit on the same CPU, also when fits
        run in threads (training draws from a generator of its own). torch's global
        random state is left untouched; numpy's is too, unless ``random_state`` is
        None, which draws the seeds from it (as scikit-learn estimators do).

    verbose : int, default=0
        0 is silent; 1 prints one line per epoch; 2 adds a progress bar.

    callbacks : list or None, default=None
        Called during training, after skattn's own learning-rate schedule, early
        stopping and best-epoch restore, which they do not replace. Entries are
        skorch callbacks (instances or ``(name, callback)`` pairs: ``MlflowLogger``,
        ``TensorBoard``, ``GradientNormClipping``, ``Checkpoint``, ...), whose
        ``net`` argument is the private skorch net that trains the network, or
        plain callables, called after every epoch with that epoch's record (a dict
        with ``epoch``, ``train_loss``, ``dur`` and, with a hold-out,
        ``valid_loss`` and ``valid_score``): one that returns True stops training
        after that epoch (the best epoch is then restored, as after early
        stopping). A skorch callback may stop training the skorch way, by raising
        ``KeyboardInterrupt``. Callbacks are used as passed, not copied (as in
        skorch and Keras); ``save_model`` does not store them.

    warm_start : bool, default=False
        Reuse the fitted network, encoders and classes as the starting point of the
        next ``fit`` instead of starting afresh. The optimiser's moments restart;
        the network's shape and the input encoding (``d_token``, ``patch_size``,
        ``categorical_features``, ...) stay those of the first fit.

    pretrained : fitted skattn estimator, FrozenEstimator of one, or None, \
default=None
        Start from another fitted model's network instead of a random one:
        typically an :class:`AttentionFeatureExtractor` fitted without labels on
        more rows than have labels (pre-training, then fine-tuning here). Its
        input encoding (categories, scaling, patch size) and every weight except
        the output layer (and the extractor's ``n_components`` projection) are
        copied; ``fit`` then trains them all on ``y``. Its network parameters
        (``d_token``, ``n_blocks``, ``n_heads``, ``activation``, ``ffn_factor``,
        ``n_cross_blocks``, ``n_latent_tokens``) must equal this estimator's
        (``d_token="auto"`` takes the pretrained network's width), and
        ``X`` must have the columns it was fitted on. :func:`~sklearn.base.clone`
        (so :class:`~sklearn.model_selection.GridSearchCV` and
        :func:`~sklearn.model_selection.cross_val_score`) replaces an estimator
        parameter by an unfitted copy: wrap the fitted model in
        :class:`sklearn.frozen.FrozenEstimator` to keep it through them.
        Ignored when ``warm_start`` continues an earlier fit.""",
    "fitted_attributes": """\
n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X is a DataFrame with string column
        names.

    is_categorical_ : ndarray of bool of shape (`n_features_in_`,)
        Which features were treated as categorical.

    module_ : torch.nn.Module
        The trained network (:class:`skattn._network.AttentionMLPNetwork`), or
        with ``n_members > 1`` the ensemble of them
        (:class:`skattn._members.MemberEnsemble`).

    n_latent_tokens_ : int or None
        Latent tokens of the network (the resolved ``n_latent_tokens``).

    n_members_ : int
        Member networks of the model (the resolved ``n_members``; 1 for the
        feature extractor).

    d_token_ : int
        Width of the network's tokens (the resolved ``d_token``).

    max_iter_ : int
        The most epochs a ``fit`` trains (the resolved ``max_iter``).

    sequence_tokenizer_ : {"linear", "random_kernels"} or None
        The tokens of the sequence input (the resolved ``sequence_tokenizer``);
        None when no input is sequences.

    sequence_tokenizer_scores_ : dict or None
        With ``sequence_tokenizer="auto"``, the probe's scores that chose the
        tokens: ``"linear"`` and ``"random_kernels"`` (out-of-fold scores of
        ridge models on raw values and on kernel features: accuracy for a
        single-output classifier, else R2) and ``"standard_error"`` of their
        difference; None when no probe chose.

    feature_importances_ : ndarray of shape (`n_features_in_`,)
        Attention-based importance of each column, summing to one: the CLS
        token's attention to it, averaged over blocks, heads and up to 2,048
        validation (else training) rows, as in the FT-Transformer paper. Only
        when the (main) input is a table; see :meth:`feature_attention`.

    device_ : torch.device
        The device the network was trained on.

    n_iter_ : int
        Number of epochs run by the last fit.

    loss_curve_ : list of float
        Training loss after each epoch of the last fit.

    validation_scores_ : list of float or None
        Score on the held-out data (out of fold, with cross-fitted members) after
        each epoch (accuracy for classification,
        the mean of the columns' accuracies for a 2-D ``y`` of labels, R² for
        regression, minus the pinball loss for quantiles), or None without early
        stopping. Early stopping itself watches the held-out loss.

    best_validation_score_ : float or None
        Validation score of the epoch whose weights were kept, or None without
        early stopping. With cross-fitted members, each member's kept epoch is its
        own: the score of every row's out-of-fold output at that epoch.""",
}

_T = TypeVar("_T")


def fill_doc(obj: _T) -> _T:
    """Fill the ``%(name)s`` fragments of ``obj``'s docstring."""
    if obj.__doc__:
        obj.__doc__ = obj.__doc__ % _FRAGMENTS
    return obj
