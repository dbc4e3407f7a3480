//! Django's `ModelForm`: a form whose fields edit the model fields of the same names.

use herd_db::{Executor, Model};

use crate::bound::{BoundForm, Form};

/// Implemented by `#[derive(Form)]` with `#[form(model = "Path")]`: each form field reads and
/// writes the model field of the same name, so the two cannot drift apart (a renamed or
/// retyped field fails to compile).
///
/// A view binds the form, and when it is valid saves the cleaned struct onto an instance: a new
/// one (unset primary key) is inserted, an existing one updated, so saving runs the model's
/// change listeners (cache purges) as any other save does.
///
/// ```no_run
/// # use herd_forms::{Form, FormHooks, ModelForm};
/// # use herd_db::{Database, Model};
/// #[derive(Model, Clone, Default)]
/// #[model(crate = "herd_db", app = "shop")]
/// struct Product {
///     id: i64,
///     #[model(max_length = 50)]
///     name: String,
/// }
///
/// #[derive(Form)]
/// #[form(model = "Product")]
/// struct ProductForm {
///     #[form(max_length = 50)]
///     name: String,
/// }
///
/// impl FormHooks for ProductForm {}
///
/// # async fn example(db: &Database) -> herd_db::Result<()> {
/// let product = Product::objects().get(db, Product::id().exact(1)).await?;
/// let form = ProductForm::bind(&[("name", "Tea")]);
/// if let Some(cleaned) = form.cleaned_data() {
///     let saved = cleaned.save(db, product).await?;
///     assert_eq!(saved.name, "Tea");
/// }
/// # Ok(())
/// # }
/// ```
pub trait ModelForm: Form + Sync {
    /// The model the form edits.
    type Model: Model;

    /// The form's values read off `instance`.
    fn from_instance(instance: &Self::Model) -> Self;

    /// Writes the form's values onto `instance`, leaving its other fields alone.
    fn apply_to(&self, instance: &mut Self::Model);

    /// An unbound form showing `instance`'s values: the page that edits it.
    fn for_instance(instance: &Self::Model) -> BoundForm<Self> {
        Self::from_instance(instance).initial()
    }

    /// Django's `ModelForm.save()`: writes the values onto `instance` and saves it (an
    /// `INSERT` when its primary key is unset, else an `UPDATE`), returning the saved object.
    ///
    /// # Errors
    ///
    /// The database's, such as a constraint the values break.
    fn save<E: Executor>(
        &self,
        exec: &E,
        mut instance: Self::Model,
    ) -> impl Future<Output = herd_db::Result<Self::Model>> + Send {
        async move {
            self.apply_to(&mut instance);
            instance.save(exec).await?;
            Ok(instance)
        }
    }
}
